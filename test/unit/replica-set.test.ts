/** The replica indices of a recipe's pods: the lowest free one for a new pod, order, and live ones. */
import { describe, expect, it } from 'vitest';
import { ReplicaSet } from '../../src/manager/replica-set.js';
import type { Pod } from '../../src/pod/pod.js';
import { FakePod } from './fake-pod.js';

describe('ReplicaSet', () => {
  it('gives a new pod the lowest free index and lists the pods in index order', () => {
    const set = new ReplicaSet();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((id) => new FakePod(id).asPod) as [Pod, Pod, Pod, Pod];
    expect([a, b, c].map((pod) => set.add(pod))).toEqual([0, 1, 2]);
    set.delete(b);
    expect(set.has(b)).toBe(false);
    expect(set.add(d)).toBe(1); // the gap b left, not 3
    expect(set.all()).toEqual([a, d, c]);
    expect(set.indexOf(c)).toBe(2);
    expect(set.indexOf(b)).toBeUndefined();
    expect(set.size).toBe(3);
  });

  it('lists as live only the pods that take requests, and finds the first one without a list', () => {
    const set = new ReplicaSet();
    const fakes = ['a', 'b', 'c'].map((id) => new FakePod(id));
    for (const fake of fakes) set.add(fake.asPod);
    const [a, b, c] = fakes as [FakePod, FakePod, FakePod];
    a.state = 'stopping';
    b.state = 'starting';
    c.state = 'busy';
    expect(set.live()).toEqual([b.asPod, c.asPod]);
    expect(set.firstLive()).toBe(b.asPod);
    b.state = 'crashed';
    c.state = 'stopped';
    expect(set.live()).toEqual([]);
    expect(set.firstLive()).toBeUndefined();
  });
});
