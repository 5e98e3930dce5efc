/**
 * The new-analysis form, generated from schemas/pipeline-params.schema.json: one field per parameter with its default,
 * description and bounds; what a person types turned back into parameters; the API's 422 problems put beside the
 * fields they name. Pure, so the tests read it too.
 */

interface PropertySchema {
  type?: string | string[];
  enum?: unknown[];
  oneOf?: PropertySchema[];
  const?: unknown;
  items?: PropertySchema;
  default?: unknown;
  description?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

export interface ParamsSchema {
  properties: Record<string, PropertySchema>;
}

/**
 * How a field is entered: a list of choices, a tick box, a number (or a word such as 'median'), a list of numbers,
 * free text, or one or several of the dataset's obs columns.
 */
export type FieldKind = 'choice' | 'boolean' | 'number' | 'numbers' | 'text' | 'column' | 'columns';

export interface FieldSpec {
  readonly key: string;
  readonly kind: FieldKind;
  readonly integer: boolean;
  readonly nullable: boolean;
  readonly defaultValue: unknown;
  readonly description: string;
  /** The bounds in words, e.g. "≥ 0 and ≤ 100". */
  readonly bounds: string;
  readonly choices: readonly string[];
  /** Words a number field also accepts (target_sum's 'median'). */
  readonly words: readonly string[];
  readonly advanced: boolean;
}

/** What a person decides for every analysis; the rest is folded away under "Advanced". */
export const MAIN_PARAMS = ['condition_keys', 'label_key', 'n_clusters', 'likelihood'];

/** Parameters that name obs columns, chosen from the dataset's columns instead of typed. */
const COLUMN_PARAMS: Partial<Record<string, 'column' | 'columns'>> = { condition_keys: 'columns', label_key: 'column', batch_key: 'column' };

export type RawValue = string | boolean | string[];

function typesOf(schema: PropertySchema): string[] {
  return schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
}

function boundsOf(schema: PropertySchema): string {
  const parts = [
    schema.minimum !== undefined ? `≥ ${schema.minimum}` : '',
    schema.exclusiveMinimum !== undefined ? `> ${schema.exclusiveMinimum}` : '',
    schema.maximum !== undefined ? `≤ ${schema.maximum}` : '',
    schema.exclusiveMaximum !== undefined ? `< ${schema.exclusiveMaximum}` : '',
  ].filter(Boolean);
  return parts.join(' and ');
}

function fieldOf(key: string, schema: PropertySchema): FieldSpec {
  const types = typesOf(schema);
  const numeric = schema.oneOf?.find((option) => typesOf(option).some((t) => t === 'number' || t === 'integer'));
  const words = (schema.oneOf ?? []).flatMap((option) => (typeof option.const === 'string' ? [option.const] : []));
  const itemTypes = schema.items ? typesOf(schema.items) : [];
  const kind: FieldKind =
    COLUMN_PARAMS[key] ??
    (schema.enum
      ? 'choice'
      : types.includes('boolean')
        ? 'boolean'
        : types.includes('array') && itemTypes.some((t) => t === 'number' || t === 'integer')
          ? 'numbers'
          : numeric || types.includes('number') || types.includes('integer')
            ? 'number'
            : 'text');
  const boundsSource = kind === 'numbers' ? (schema.items ?? {}) : (numeric ?? schema);
  return {
    key,
    kind,
    integer: types.includes('integer') || itemTypes.includes('integer') || (numeric ? typesOf(numeric).includes('integer') : false),
    nullable: types.includes('null'),
    defaultValue: schema.default ?? null,
    description: schema.description ?? '',
    bounds: boundsOf(boundsSource),
    choices: (schema.enum ?? []).map(String),
    words,
    advanced: !MAIN_PARAMS.includes(key),
  };
}

/** Every parameter of the schema, in its order. */
export function fieldsOf(schema: ParamsSchema): FieldSpec[] {
  return Object.entries(schema.properties).map(([key, property]) => fieldOf(key, property));
}

/** What the field shows before anyone edits it: its default. */
export function initialRaw(field: FieldSpec): RawValue {
  const value = field.defaultValue;
  if (field.kind === 'boolean') return value === true;
  if (field.kind === 'columns') return Array.isArray(value) ? value.map(String) : [];
  if (value === null || value === undefined) return '';
  return Array.isArray(value) ? value.join(', ') : String(value);
}

function parseNumber(field: FieldSpec, text: string): number | string {
  const number = Number(text);
  if (text === '' || !Number.isFinite(number)) throw new Error(field.words.length ? `a number or ${field.words.map((w) => `"${w}"`).join(' or ')}` : 'a number');
  if (field.integer && !Number.isInteger(number)) throw new Error('a whole number');
  return number;
}

/** The parameter value a raw entry stands for; throws an Error whose message says what the field expects. */
export function parseRaw(field: FieldSpec, raw: RawValue): unknown {
  if (field.kind === 'boolean') return raw === true;
  if (field.kind === 'columns') return Array.isArray(raw) ? [...raw] : [];
  const text = String(raw).trim();
  if (text === '' && (field.nullable || field.kind === 'column')) return null;
  switch (field.kind) {
    case 'number':
      return field.words.includes(text) ? text : parseNumber(field, text);
    case 'numbers':
      return text.split(/[\s,]+/).filter(Boolean).map((part) => parseNumber(field, part));
    default:
      return text;
  }
}

/**
 * The parameters to submit: every field whose value differs from its default (the server fills in the rest), and
 * the fields that could not be read, with what they expect.
 */
export function paramsFrom(fields: readonly FieldSpec[], raws: Readonly<Record<string, RawValue>>): { params: Record<string, unknown>; errors: Record<string, string> } {
  const params: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    const raw = raws[field.key];
    if (raw === undefined) continue;
    try {
      const value = parseRaw(field, raw);
      if (JSON.stringify(value) !== JSON.stringify(field.defaultValue)) params[field.key] = value;
    } catch (error) {
      errors[field.key] = `expected ${(error as Error).message}`;
    }
  }
  return { params, errors };
}

/**
 * The API's 422 problems by the parameter they name ('"epochs" must be >= 1', '"hidden.0" must be >= 4',
 * 'unknown parameter "colour"'); problems that name none under ''.
 */
export function problemsByField(problems: readonly string[]): Map<string, string[]> {
  const byField = new Map<string, string[]>();
  for (const problem of problems) {
    const match = /^"([^".]+)[".]/.exec(problem) ?? /^unknown parameter "([^"]+)"/.exec(problem);
    const key = match?.[1] ?? '';
    byField.set(key, [...(byField.get(key) ?? []), problem]);
  }
  return byField;
}
