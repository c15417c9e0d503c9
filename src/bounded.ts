/** Work over many items with a bound on how much runs at once (e.g. files open at once). */

/**
 * Runs `work` on every item, at most `concurrency` at a time, in order of start; resolves once all
 * have finished, rejects with the first error (the items already started still finish, none start after).
 */
export async function forEachBounded<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    for (let i = next++; i < items.length && !failed; i = next++) {
      try {
        await work(items[i] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}
