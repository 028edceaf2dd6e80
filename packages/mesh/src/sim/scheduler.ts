import { type Clock, clockTimeout, type TimerHandle } from '../clock.ts'

/** Virtual ms at which a simulation starts: a plausible epoch time, so ages and logs read as real ones. */
export const SIM_EPOCH = 1_800_000_000_000

interface Task {
  at: number
  seq: number
  owner: string
  fn: () => void
  /** ms of an interval (rescheduled after each run), or 0 */
  every: number
  cancelled: boolean
}

interface Owner {
  paused: boolean
  dead: boolean
  /** tasks that came due while paused, in the order they came due */
  held: Task[]
}

/** Lets every promise callback queued so far run (and those they queue): a macrotask turn. */
const flushMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * Virtual time for a whole simulated cluster. Every timer and every
 * delivery is a task owned by one node (its process): a paused node's tasks
 * wait until it resumes, as a SIGSTOPped process's timers and sockets do,
 * and run then in the order they came due; a killed node's never run.
 * Between two tasks the promise callbacks they started run to the end, so a
 * run is the same sequence of steps on every machine.
 */
export class Scheduler {
  #now = SIM_EPOCH
  #seq = 0
  /** a binary heap by (at, seq) */
  readonly #heap: Task[] = []
  readonly #owners = new Map<string, Owner>()
  /** tasks run so far */
  steps = 0

  get now(): number {
    return this.#now
  }

  /** The clock a node's code sees: its timers are its tasks. */
  clock(owner: string): Clock {
    const clock: Clock = {
      now: () => this.#now,
      setTimeout: (fn, ms) => this.#add(owner, ms, fn, 0),
      clearTimeout: (timer) => this.#cancel(timer),
      setInterval: (fn, ms) => this.#add(owner, ms, fn, Math.max(1, ms)),
      clearInterval: (timer) => this.#cancel(timer),
      soon: (fn) => void this.#add(owner, 0, fn, 0),
      timeout: (ms) => clockTimeout(clock, ms),
    }
    return clock
  }

  /** Runs `fn` as `owner` after `ms` virtual ms. */
  at(owner: string, ms: number, fn: () => void): TimerHandle {
    return this.#add(owner, ms, fn, 0)
  }

  pause(owner: string): void {
    this.#owner(owner).paused = true
  }

  /** A paused owner runs again: what came due meanwhile runs now, in order. */
  resume(owner: string): void {
    const o = this.#owner(owner)
    if (!o.paused) return
    o.paused = false
    for (const task of o.held.splice(0)) {
      task.at = this.#now
      task.seq = this.#seq++
      this.#push(task)
    }
  }

  /** The owner's process is gone: none of its tasks runs again. */
  kill(owner: string): void {
    const o = this.#owner(owner)
    o.dead = true
    o.held = []
  }

  isPaused(owner: string): boolean {
    return this.#owners.get(owner)?.paused === true
  }

  isDead(owner: string): boolean {
    return this.#owners.get(owner)?.dead === true
  }

  /** Runs every task due up to `ms` virtual ms from now; time then stands at that point. */
  async run(ms: number): Promise<void> {
    const until = this.#now + ms
    await flushMicrotasks()
    for (;;) {
      const task = this.#heap[0]
      if (task === undefined || task.at > until) break
      this.#pop()
      if (task.cancelled) continue
      const o = this.#owners.get(task.owner)
      if (o?.dead === true) continue
      this.#now = Math.max(this.#now, task.at)
      if (o?.paused === true) {
        o.held.push(task)
        continue
      }
      if (task.every > 0) {
        // as node's timers do: the next run counts from this one, however late it was
        task.at = this.#now + task.every
        task.seq = this.#seq++
        this.#push(task)
      }
      this.steps++
      task.fn()
      await flushMicrotasks()
    }
    this.#now = until
  }

  #add(owner: string, ms: number, fn: () => void, every: number): Task {
    const task: Task = {
      at: this.#now + Math.max(0, ms),
      seq: this.#seq++,
      owner,
      fn,
      every,
      cancelled: false,
    }
    this.#push(task)
    return task
  }

  #cancel(timer: TimerHandle): void {
    if (timer !== null && typeof timer === 'object' && 'cancelled' in timer) (timer as Task).cancelled = true
  }

  #owner(name: string): Owner {
    let o = this.#owners.get(name)
    if (o === undefined) {
      o = { paused: false, dead: false, held: [] }
      this.#owners.set(name, o)
    }
    return o
  }

  #push(task: Task): void {
    const heap = this.#heap
    heap.push(task)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(task, heap[parent] as Task)) break
      heap[i] = heap[parent] as Task
      i = parent
    }
    heap[i] = task
  }

  #pop(): void {
    const heap = this.#heap
    const last = heap.pop()
    if (last === undefined || heap.length === 0) return
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      let best = last
      if (l < heap.length && before(heap[l] as Task, best)) {
        m = l
        best = heap[l] as Task
      }
      if (r < heap.length && before(heap[r] as Task, best)) m = r
      if (m === i) break
      heap[i] = heap[m] as Task
      i = m
    }
    heap[i] = last
  }
}

function before(a: Task, b: Task): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}
