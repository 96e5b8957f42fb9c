/**
 * The validation rules of every operation, on both transports: graphql-js's specified
 * rules, and without introspection a rule that refuses `__schema`/`__type`.
 */
import { NoSchemaIntrospectionCustomRule, specifiedRules, type ValidationRule } from 'graphql';

export interface ValidationRuleSet {
  /** What Gatehouse adds to the specified rules (Apollo Server adds those itself). */
  readonly extra: readonly ValidationRule[];
  /** The specified rules plus `extra`. */
  readonly all: readonly ValidationRule[];
}

export function validationRules(options: { introspection: boolean }): ValidationRuleSet {
  const extra = options.introspection ? [] : [NoSchemaIntrospectionCustomRule];
  return { extra, all: [...specifiedRules, ...extra] };
}
