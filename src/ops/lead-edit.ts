/**
 * An operator's edit before a replay: a JSON merge patch (RFC 7396, but a null sets a field to
 * null) over the lead's own fields: the person's details, the job, the source, the consent and
 * the enrichment. Identity and bookkeeping (leadId, receivedAt, vendor, hops, delivery, rejection,
 * deadLetter) are not editable: a replay must stay the same lead, from the same vendor, to the
 * same destination. Types are checked when the lead is encoded (its Avro schema names the field).
 */
export const EDITABLE_FIELDS = ['firstName', 'lastName', 'email', 'phone', 'zip', 'postcode', 'country', 'jobTitle', 'source', 'vendorLeadId', 'consent', 'enrichment'] as const;

export class EditError extends Error {
  override name = 'EditError';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function merge(target: unknown, patch: unknown): unknown {
  if (!isObject(patch) || !isObject(target)) return patch;
  const out: Record<string, unknown> = { ...target };
  for (const [k, v] of Object.entries(patch)) out[k] = merge(target[k], v);
  return out;
}

/** Checks an edit's shape without a lead (the dashboard and the CLI refuse a bad one before any work). */
export function checkEdit(edit: unknown): Record<string, unknown> {
  if (!isObject(edit)) throw new EditError('an edit is a JSON object of lead fields, e.g. {"jobTitle": "Registered Nurse"}');
  const refused = Object.keys(edit).filter((k) => !(EDITABLE_FIELDS as readonly string[]).includes(k));
  if (refused.length > 0) throw new EditError(`cannot edit ${refused.map((k) => `"${k}"`).join(', ')}: editable fields are ${EDITABLE_FIELDS.join(', ')}`);
  if (Object.keys(edit).length === 0) throw new EditError('the edit changes nothing');
  return edit;
}

export function applyEdit<T extends object>(lead: T, edit: Record<string, unknown>): T {
  checkEdit(edit);
  return merge(lead, edit) as T;
}
