/**
 * The few `Reflect` metadata functions that @peculiar/x509's dependency tsyringe requires to be
 * present before it loads (it refuses to load without a "reflect polyfill"): `defineMetadata`,
 * `getOwnMetadata`, `getMetadata` (along the prototype chain) and `hasMetadata`. Kept here, small,
 * instead of a polyfill package; import it before @peculiar/x509.
 */
type Key = unknown;
const store = new WeakMap<object, Map<Key, unknown>>();
const reflect = Reflect as unknown as Record<string, unknown>;

function own(target: object, create: boolean): Map<Key, unknown> | undefined {
  let map = store.get(target);
  if (map === undefined && create) store.set(target, (map = new Map()));
  return map;
}

if (typeof reflect.getMetadata !== 'function') {
  reflect.defineMetadata = (key: Key, value: unknown, target: object): void => {
    own(target, true)!.set(key, value);
  };
  reflect.getOwnMetadata = (key: Key, target: object): unknown => own(target, false)?.get(key);
  reflect.getMetadata = (key: Key, target: object): unknown => {
    for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t) as object | null) {
      const map = own(t, false);
      if (map?.has(key)) return map.get(key);
    }
    return undefined;
  };
  reflect.hasMetadata = (key: Key, target: object): boolean =>
    (reflect.getMetadata as (k: Key, t: object) => unknown)(key, target) !== undefined;
}

export {};
