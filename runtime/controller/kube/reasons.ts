/**
 * The shape of every kind's `<kind>-reasons.ts`: one table of the reasons the
 * kind can report (condition reason, Event reason, `status.reason`), each with
 * the sentence it stands for and the fix a user applies. The table's key is
 * the reason string itself, so `R.StorageNotFound` reads as what users see.
 */
export interface ReasonEntry {
  /** What happened, as the status message says it (in short). */
  readonly sentence: string;
  /** What the user does about it; absent for progress and success reasons. */
  readonly fix?: string;
}

export type ReasonTable = Readonly<Record<string, ReasonEntry>>;

/** The reason strings of a table by name: `reasonsOf({ Ready: ... }).Ready === 'Ready'`. */
export function reasonsOf<T extends ReasonTable>(table: T): { readonly [K in keyof T & string]: K } {
  return Object.fromEntries(Object.keys(table).map((k) => [k, k])) as { readonly [K in keyof T & string]: K };
}
