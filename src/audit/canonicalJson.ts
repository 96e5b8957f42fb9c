/**
 * JSON Canonicalization Scheme (RFC 8785, https://www.rfc-editor.org/rfc/rfc8785): the one
 * serialisation of a JSON value that the audit chain hashes, so a verifier in any language
 * recomputes the same bytes. Object members are sorted by their names as UTF-16 code
 * units; strings and numbers are written as ECMAScript's JSON.stringify writes them (which
 * is what RFC 8785 prescribes); no whitespace. Values JSON cannot represent exactly —
 * undefined, functions, non-finite numbers, BigInt, lone surrogates — are refused.
 */
export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
}

export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      // A lone surrogate has no UTF-8 form: what is stored would differ from what was hashed.
      if (!value.isWellFormed()) throw new CanonicalJsonError('lone surrogate in a string');
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`not a JSON number: ${value}`);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + canonicalJson(value[i]);
        return `${out}]`;
      }
      const prototype = Object.getPrototypeOf(value) as unknown;
      if (prototype !== Object.prototype && prototype !== null) {
        throw new CanonicalJsonError('only plain objects are JSON objects');
      }
      const object = value as Record<string, unknown>;
      // Array.prototype.sort without a comparator compares UTF-16 code units, as RFC 8785
      // §3.2.3 asks.
      const names = Object.keys(object).sort();
      let out = '{';
      for (const name of names) {
        const member = object[name];
        if (member === undefined) continue;
        out += `${out.length > 1 ? ',' : ''}${canonicalJson(name)}:${canonicalJson(member)}`;
      }
      return `${out}}`;
    }
    case 'bigint':
    case 'function':
    case 'symbol':
    case 'undefined':
      throw new CanonicalJsonError(`not a JSON value: ${typeof value}`);
  }
}
