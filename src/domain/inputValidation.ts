/** Field-level validation of user input; failures are BAD_USER_INPUT naming the field. */
import { badUserInput } from '../errors/clientErrors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Control characters other than tab/newline have no place in names and comments.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export function requireId(value: string, field: string): string {
  if (!UUID.test(value)) throw badUserInput(`${field} must be an id`, { field });
  return value.toLowerCase();
}

/** An email address: `local@domain`, no spaces, at most 64 + 255 characters. */
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/** Whether `value` is an email address: `local@domain.tld`, no spaces or control characters. */
export function isEmail(value: string): boolean {
  return EMAIL.test(value) && !CONTROL.test(value) && value.slice(value.indexOf('@')).includes('.');
}

/**
 * An email address, trimmed and lower-cased (emails are unique per tenant whatever their
 * case). The message never repeats the value (it is personal data).
 */
export function requireEmail(value: string, field: string): string {
  const email = value.trim().toLowerCase();
  if (!isEmail(email)) {
    throw badUserInput(`${field} must be an email address (name@domain.example)`, { field });
  }
  return email;
}

export function requireText(
  value: string,
  field: string,
  options: { min: number; max: number },
): string {
  const text = value.trim();
  if (text.length < options.min || text.length > options.max) {
    throw badUserInput(`${field} must be ${options.min} to ${options.max} characters`, { field });
  }
  if (CONTROL.test(text)) throw badUserInput(`${field} contains control characters`, { field });
  return text;
}
