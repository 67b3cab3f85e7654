/**
 * The shape every message module follows: an English dictionary that
 * defines the keys (`as const`) and a French one the compiler holds to
 * exactly the same keys.
 */
export type Translation<T> = { readonly [K in keyof T]: string }
