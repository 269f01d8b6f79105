/**
 * What every stored resource shares: the store-owned fields and string labels. Pure types.
 */

/** String labels, e.g. `{ team: 'risk', tier: 'gold' }`. */
export type Labels = Record<string, string>;

/** Fields the store owns on every stored object. */
export interface StoredFields {
  /** Set by the store on every write; increases across the whole store. Send it back on update. */
  resourceVersion: number;
}

/** What a caller passes to create an object of type `T`: the object without the store-owned fields. */
export type Unstored<T extends StoredFields> = Omit<T, keyof StoredFields>;
