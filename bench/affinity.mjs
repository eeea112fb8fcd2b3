/**
 * Pinning this benchmark process to CPUs, where Linux's `taskset` exists. The machines these
 * benchmarks run on are virtual, and their cores are not always equal (one 2-core machine ran
 * the same step 1.5× slower on one core than on the other for hours): a comparison between two
 * threads then measures where the scheduler put them as much as the code. Pinning puts both
 * on one core; timing each core alone shows how unequal they are.
 */
import { spawnSync } from 'node:child_process';

/**
 * The CPUs this process may run on, as taskset's list (`0-1`), or null without taskset.
 * @returns {string | null}
 */
export function processCpus() {
  if (process.platform !== 'linux') return null;
  const query = spawnSync('taskset', ['-c', '-p', String(process.pid)], { encoding: 'utf8' });
  if (query.status !== 0) return null;
  return query.stdout.trim().split(':').pop()?.trim() ?? null;
}

/**
 * Runs `body` with every thread of this process, and every thread it starts meanwhile (workers
 * inherit the mask), pinned to `cpus`; restores the previous mask after. Without taskset it
 * runs `body` unpinned and says so.
 * @template T
 * @param {string} cpus a taskset list, e.g. `1`
 * @param {() => Promise<T>} body
 * @returns {Promise<{ result: T, pinned: boolean }>}
 */
export async function withProcessPinned(cpus, body) {
  const before = processCpus();
  const pin = (list) => spawnSync('taskset', ['-a', '-c', '-p', list, String(process.pid)]).status === 0;
  const pinned = before !== null && pin(cpus);
  try {
    return { result: await body(), pinned };
  } finally {
    if (pinned && before !== null) pin(before);
  }
}

/**
 * The CPU ids of a taskset list (`0-2,5` → 0, 1, 2, 5).
 * @param {string} list
 */
function cpuIds(list) {
  return list.split(',').flatMap((range) => {
    const [first, last = first] = range.split('-').map(Number);
    return Array.from({ length: last - first + 1 }, (_, i) => first + i);
  });
}

/**
 * `time()` run on each CPU this process may use, alone (the process pinned to it), as
 * `{ cpu, ms }`; null without taskset.
 * @param {() => Promise<number>} time times some work and returns its median in ms
 * @returns {Promise<{ cpu: number, ms: number }[] | null>}
 */
export async function timePerCpu(time) {
  const list = processCpus();
  if (list === null) return null;
  const times = [];
  for (const cpu of cpuIds(list)) {
    const { result, pinned } = await withProcessPinned(String(cpu), time);
    if (!pinned) return null;
    times.push({ cpu, ms: result });
  }
  return times;
}
