/**
 * fast-check generators of JSON Schemas for the structured-output property tests
 * (test/unit/structured-output-property.test.ts).
 *
 * `supportedSchema` draws only from what Cria enforces (its subset: see src/grammar/json-schema.ts):
 * every schema it makes must be accepted and every completed answer must validate under ajv.
 * `anySchema` mixes in keywords and combinations outside that subset (keywords xgrammar ignores,
 * unsatisfiable bounds, unknown formats, typos): each must be refused with `bad-argument` before
 * any token, or be enforced (its answers validate).
 *
 * Strings are mostly length-bounded and arrays short: a random-weight model rarely closes a string
 * or an array of its own accord, and an answer cut by max_tokens proves nothing.
 */
import fc from 'fast-check';

export type Schema = Record<string, unknown>;
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** String formats both xgrammar (0.1.27) and ajv-formats know. */
export const FORMATS = ['date', 'time', 'date-time', 'duration', 'email', 'hostname', 'ipv4', 'ipv6', 'uuid', 'uri', 'uri-reference', 'uri-template', 'json-pointer', 'relative-json-pointer'] as const;

/** Anchored patterns in the regex syntax both xgrammar and ECMAScript (`u` flag) read the same. */
const PATTERNS = ['^[a-z]{1,6}$', '^[A-Z][a-z]{0,4}$', '^\\d{3}-\\d{2}$', '^(yes|no|maybe)$', '^[0-9a-f]{4}$', '^x?y+z*$', '^[^,]{0,5}$', '^(ab)+$'];

/** Property names, a few of them awkward in JSON (space, non-ASCII, astral, empty). */
const NAMES = ['a', 'b', 'name', 'age', 'tags', 'id', 'x y', 'é', '日本', '😀', '', 'nested', 'value'];
/** names xgrammar cannot write into its grammar (Cria refuses them) */
const ODD_NAMES = ['q"uote', 'back\\slash', 'new\nline'];

/** Strings for enums and consts: escapes, control characters, non-ASCII, astral. */
const STRINGS = ['a', 'yes', 'no', '', ' ', 'hello world', 'line\nbreak', 'tab\there', 'quote"d', 'back\\slash', 'nul\u0000', 'é', '日本語', '😀', '</s>x', '1', 'true', 'null'];

const smallJson: fc.Arbitrary<Json> = fc.letrec<{ v: Json }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...STRINGS),
    fc.integer({ min: -1000, max: 1000 }),
    fc.constantFrom(0.5, -2.25, 1e21, 3.14159, -0.001, 1e-7),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('v'), { maxLength: 2 }),
    fc.dictionary(fc.constantFrom('k', 'l', 'm'), tie('v'), { maxKeys: 2 }),
  ),
})).v;

const uniqueValues = fc.uniqueArray(smallJson, { minLength: 1, maxLength: 5, selector: (v) => JSON.stringify(v) });

const annotate = (s: fc.Arbitrary<Schema>): fc.Arbitrary<Schema> =>
  fc.tuple(s, fc.option(fc.constantFrom('A title', 'Ünïcödé'), { nil: undefined }), fc.option(fc.constantFrom('what it is', 'line\nbreak'), { nil: undefined })).map(
    ([schema, title, description]) => ({ ...schema, ...(title ? { title } : {}), ...(description ? { description } : {}) }),
  );

// ---- leaves Cria supports ----

const lengthString = fc
  .tuple(fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }), fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }, ), fc.integer({ min: 0, max: 9 }))
  .map(([min, extra, p]): Schema => {
    // mostly bounded: an unbounded string rarely ends on a random model
    const max = p < 8 ? (min ?? 0) + (extra ?? 3) : undefined;
    return { type: 'string', ...(min !== undefined ? { minLength: min } : {}), ...(max !== undefined ? { maxLength: max } : {}) };
  });
const formatString = fc.constantFrom(...FORMATS).map((format): Schema => ({ type: 'string', format }));
const patternString = fc.constantFrom(...PATTERNS).map((pattern): Schema => ({ type: 'string', pattern }));

const bound = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -30, max: 30 }), fc.constantFrom(0, -1, 1, 9, 10, 99, 100, 2.5, -2.5, 1e6, -1e6));
const integerSchema = fc
  .tuple(fc.option(bound, { nil: undefined }), fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }), fc.boolean(), fc.boolean())
  .map(([lo, span, exLo, exHi]): Schema => {
    const s: Schema = { type: 'integer' };
    if (lo !== undefined) s[exLo ? 'exclusiveMinimum' : 'minimum'] = lo;
    if (span !== undefined) {
      // at least one integer inside whatever the bounds' kinds
      const hi = lo === undefined ? span - 100 : Math.ceil(lo) + 2 + span;
      s[exHi ? 'exclusiveMaximum' : 'maximum'] = hi;
    }
    return s;
  });
const numberBound = fc.oneof(bound, fc.constantFrom(0.5, -0.25, 1e-5, -1e-5, 3.14159, 0.1, 1e300, -1e300, 5e-324, 1e-7));
const numberSchema = fc
  .tuple(fc.option(numberBound, { nil: undefined }), fc.option(fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constantFrom(0, 0.001, 1e-6, 0.5)), { nil: undefined }), fc.boolean(), fc.boolean())
  .map(([lo, span, exLo, exHi]): Schema => {
    const s: Schema = { type: 'number' };
    const hi = span === undefined ? undefined : lo === undefined ? span - 50 : lo + span;
    // exclusive bounds only where there is room between them
    const room = lo === undefined || hi === undefined || hi > lo;
    if (lo !== undefined) s[exLo && room ? 'exclusiveMinimum' : 'minimum'] = lo;
    if (hi !== undefined) s[exHi && room ? 'exclusiveMaximum' : 'maximum'] = hi;
    return s;
  });

const enumSchema = fc.oneof(
  uniqueValues.map((values): Schema => ({ enum: values })),
  smallJson.map((value): Schema => ({ const: value })),
  // enum with its type: values of other types are not answers (xgrammar takes the enum alone)
  fc.tuple(fc.constantFrom('string', 'integer', 'number', 'boolean', 'null', 'object', 'array'), uniqueValues, fc.constantFrom(...STRINGS)).map(([type, values, s]): Schema => {
    const typed: Record<string, Json> = { string: s, integer: 7, number: 1.5, boolean: false, null: null, object: { k: 1 }, array: [1] };
    return { type, enum: [...values.filter((v) => JSON.stringify(v) !== JSON.stringify(typed[type]!)), typed[type]!] };
  }),
);

/** a list of types, each with its own keywords (JSON Schema applies each keyword to its type only) */
const typeList = fc
  .tuple(fc.uniqueArray(fc.constantFrom('string', 'integer', 'number', 'boolean', 'null'), { minLength: 2, maxLength: 3 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: -20, max: 20 }))
  .map(([type, len, lo]): Schema => ({ type, ...(type.includes('string') ? { maxLength: len } : {}), ...(type.includes('integer') || type.includes('number') ? { minimum: lo } : {}) }));

const supportedLeaf: fc.Arbitrary<Schema> = fc.oneof(
  { weight: 5, arbitrary: lengthString },
  { weight: 2, arbitrary: formatString },
  { weight: 2, arbitrary: patternString },
  { weight: 4, arbitrary: integerSchema },
  { weight: 2, arbitrary: numberSchema },
  { weight: 1, arbitrary: fc.constantFrom<Schema>({ type: 'boolean' }, { type: 'null' }) },
  { weight: 3, arbitrary: enumSchema },
  { weight: 1, arbitrary: typeList },
);

function objectOf(child: fc.Arbitrary<Schema>, names: readonly string[] = NAMES): fc.Arbitrary<Schema> {
  return fc
    .tuple(fc.uniqueArray(fc.tuple(fc.constantFrom(...names), child), { maxLength: 4, selector: ([k]) => k }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), fc.constantFrom<unknown>(undefined, false, true))
    .map(([props, req, additional]): Schema => {
      const required = props.filter((_, i) => req[i]).map(([k]) => k);
      return {
        type: 'object',
        properties: Object.fromEntries(props),
        ...(required.length > 0 ? { required } : {}),
        ...(additional !== undefined ? { additionalProperties: additional } : {}),
      };
    });
}

function arrayOf(child: fc.Arbitrary<Schema>): fc.Arbitrary<Schema> {
  return fc.oneof(
    fc.tuple(child, fc.integer({ min: 0, max: 2 }), fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined })).map(([items, min, extra]): Schema => ({
      type: 'array',
      items,
      ...(min > 0 ? { minItems: min } : {}),
      // mostly bounded (a random model rarely closes a list)
      maxItems: min + (extra ?? 2),
    })),
    fc.tuple(fc.array(child, { minLength: 1, maxLength: 3 })).map(([prefixItems]): Schema => ({ type: 'array', prefixItems, items: false })),
  );
}

const supportedInner: fc.Arbitrary<Schema> = fc.letrec<{ s: Schema }>((tie) => ({
  s: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: annotate(supportedLeaf) },
    { weight: 3, arbitrary: objectOf(tie('s')) },
    { weight: 2, arbitrary: arrayOf(tie('s')) },
    { weight: 1, arbitrary: fc.array(tie('s'), { minLength: 2, maxLength: 3 }).map((anyOf): Schema => ({ anyOf })) },
  ),
})).s;

/** Schemas Cria enforces: every one compiles; every completed answer validates. Some use $defs and $ref. */
export const supportedSchema: fc.Arbitrary<Schema> = fc.oneof(
  { weight: 6, arbitrary: supportedInner },
  {
    weight: 1,
    arbitrary: fc.tuple(supportedInner, supportedInner, fc.boolean()).map(([a, b, inArray]): Schema => ({
      $defs: { a, b },
      type: 'object',
      properties: { x: { $ref: '#/$defs/a' }, y: inArray ? { type: 'array', items: { $ref: '#/$defs/b' }, maxItems: 2 } : { $ref: '#/$defs/b' } },
      required: ['x'],
    })),
  },
);

// ---- outside the subset: refused, or enforced ----

/** Keywords and combinations xgrammar 0.1.27 ignores or gets wrong, or that cannot be satisfied. */
const outsideLeaf: fc.Arbitrary<Schema> = fc.constantFrom<Schema>(
  { type: 'integer', multipleOf: 3 },
  { type: 'number', multipleOf: 0.5 },
  { type: 'number', exclusiveMinimum: 1, exclusiveMaximum: 1 },
  { type: 'object', properties: { a: { type: 'integer' } }, additionalProperties: { type: 'string', maxLength: 2 } },
  { type: 'integer', minimum: 5, maximum: 3 },
  { type: 'integer', exclusiveMinimum: 3, exclusiveMaximum: 4 },
  { type: 'integer', minimum: 1e20 },
  { type: 'integer', not: { const: 3 } },
  { type: 'integer', allOf: [{ minimum: 3 }, { maximum: 5 }] },
  { allOf: [{ type: 'string' }] },
  { oneOf: [{ type: 'integer' }, { type: 'number' }] },
  { type: 'integer', if: { minimum: 3 }, then: { maximum: 5 } },
  { type: 'string', minLength: 5, maxLength: 3 },
  { type: 'string', format: 'date', maxLength: 3 },
  { type: 'string', pattern: '^a+$', maxLength: 2 },
  { type: 'string', format: 'idn-email' },
  { type: 'string', format: 'iri' },
  { type: 'string', format: 'no-such-format' },
  { type: 'string', pattern: '^(?=a)a+$' },
  { type: 'string', minLenght: 3 },
  { type: 'string', contentEncoding: 'base64' },
  { type: 'array', items: { type: 'boolean' }, uniqueItems: true, minItems: 3 },
  { type: 'array', items: { type: 'integer' }, contains: { const: 1 } },
  { type: 'array', minItems: 5, maxItems: 3 },
  { type: 'object', properties: { a: { type: 'integer' } }, required: ['c'] },
  { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, minProperties: 2 },
  { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, maxProperties: 1 },
  { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, dependentRequired: { a: ['b'] } },
  { type: 'object', patternProperties: { '^x': { type: 'integer' } } },
  { type: 'object', propertyNames: { pattern: '^a' } },
  { type: 'object', properties: { a: false }, required: ['a'] },
  { type: 'integer', minimum: 0, maximum: 5, anyOf: [{ const: 7 }, { type: 'string' }] },
  { type: 'string', enum: [1, 2] },
  { enum: [] },
  { type: ['integer', 'string'], minimum: 3, maxLength: 2 },
);

/** Supported schemas with schemas from outside the subset mixed in at any depth. */
export const anySchema: fc.Arbitrary<Schema> = fc.letrec<{ s: Schema }>((tie) => ({
  s: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 3, arbitrary: supportedLeaf },
    { weight: 3, arbitrary: outsideLeaf },
    { weight: 2, arbitrary: objectOf(tie('s'), [...NAMES, ...ODD_NAMES]) },
    { weight: 1, arbitrary: arrayOf(tie('s')) },
    { weight: 1, arbitrary: fc.array(tie('s'), { minLength: 2, maxLength: 3 }).map((anyOf): Schema => ({ anyOf })) },
  ),
})).s;

/** Sampling settings across their whole ranges, greedy and penalties included. */
export const samplingArb = fc.record({
  temperature: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 2, noNaN: true })),
  top_k: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })),
  top_p: fc.oneof(fc.constant(1), fc.double({ min: 0.05, max: 1, noNaN: true })),
  min_p: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.5, noNaN: true })),
  repetition_penalty: fc.oneof(fc.constant(1), fc.double({ min: 0.5, max: 2, noNaN: true })),
  presence_penalty: fc.oneof(fc.constant(0), fc.double({ min: -1, max: 1, noNaN: true })),
  frequency_penalty: fc.oneof(fc.constant(0), fc.double({ min: -1, max: 1, noNaN: true })),
  seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
});
export type Sampling = typeof samplingArb extends fc.Arbitrary<infer T> ? T : never;
