import type { en } from './en';

export type Plural = { readonly one?: string; readonly other: string };

/** A catalog for another locale: the same keys as English, a plural wherever English has one. */
export type Catalog = {
  readonly [K in keyof typeof en]: (typeof en)[K] extends string ? string : Plural;
};
