import {
  type AccessAction,
  type AccessRefusal,
  type AccessRequest,
  type AccessVerdict,
  BurstLog,
  hasCredentials,
  type Logger,
  type Startable,
} from '@meshcast/interface'
import { CLUSTER_USER, ClusterTokens } from './cluster-token.ts'
import { MAX_PASSWORD, MAX_USERNAME } from './credentials-file.ts'
import { FileValidator } from './file-validator.ts'
import { OwnerTags, type PublishGroup } from './owner-tag.ts'
import { matchesPlain } from './password-hash.ts'
import { RoundtripValidator } from './roundtrip-validator.ts'

/** The longest token a client may give. */
export const MAX_TOKEN = 4096

/** What `StreamAuth` needs: the node's `auth.*` settings and the cluster password. */
export interface StreamAuthInit {
  publish: boolean
  play: boolean
  validator: 'file' | 'roundtrip'
  /** the file validator's credentials file (absolute) */
  credentials: string
  roundtripUrl: string | null
  roundtripTimeoutMs: number
  /** the cluster's own pulls prove themselves with it (as `cluster-restreamer`) */
  clusterPassword: string
  /** ms between looks at the credentials file; default 1000 */
  watchMs?: number
  /** redundancy groups: their users' publishes of one name are one stream (`auth.group.<name>`); default none */
  groups?: readonly PublishGroup[]
}

const REFUSALS: readonly AccessRefusal[] = [
  'no-credentials',
  'bad-credentials',
  'odd-credentials',
  'validator-failed',
  'not-allowed',
]

type Counts = Record<AccessAction, { allowed: number; refused: Record<AccessRefusal, number> }>

/**
 * Decides who may publish and play on this node, Red5 Pro's Simple
 * Authentication way: `auth.publish` and `auth.play` say what is protected,
 * the file or roundtrip validator checks the credentials. The cluster's own
 * pulls always may (a token made from the cluster password). Each refusal
 * is counted and logged (a flood is a few lines: BurstLog), without the
 * credentials. `authorize` never rejects.
 */
export class StreamAuth implements Startable {
  readonly settings: Readonly<StreamAuthInit>
  readonly tokens: ClusterTokens
  readonly #owners: OwnerTags
  readonly #file: FileValidator | null
  readonly #roundtrip: RoundtripValidator | null
  readonly #log: Logger
  readonly #refusals: BurstLog<AccessRefusal>
  readonly #counts: Counts = {
    publish: { allowed: 0, refused: zero() },
    play: { allowed: 0, refused: zero() },
  }

  /** Throws a ConfigError when the file validator is needed and its file cannot be used. */
  constructor(init: StreamAuthInit, log: Logger) {
    this.settings = { ...init }
    this.#log = log
    this.tokens = new ClusterTokens(init.clusterPassword)
    this.#owners = new OwnerTags(init.clusterPassword, init.groups ?? [])
    const used = init.publish || init.play
    this.#file = used && init.validator === 'file' ? new FileValidator(init.credentials, log) : null
    this.#roundtrip =
      used && init.validator === 'roundtrip' && init.roundtripUrl !== null
        ? new RoundtripValidator(init.roundtripUrl, init.roundtripTimeoutMs, log)
        : null
    this.#refusals = new BurstLog(log, REFUSALS, {
      one: 'access refused: authentication failed',
      many: 'access refused: authentication failed (more)',
    })
  }

  /** Whether anything is protected here. */
  get enabled(): boolean {
    return this.settings.publish || this.settings.play
  }

  async start(): Promise<void> {
    this.#file?.start(this.settings.watchMs)
    if (this.#file !== null)
      this.#log.info('stream authentication on', {
        ...this.#what(),
        file: this.#file.file,
        users: this.#file.users,
      })
    if (this.#roundtrip !== null) {
      this.#log.info('stream authentication on', { ...this.#what(), url: this.#roundtrip.url })
      // an endpoint down at start is the operator's to fix, not a reason to stay down: every request is refused meanwhile
      void this.#roundtrip.reachable().then((ok) => {
        if (!ok)
          this.#log.warn(
            'the roundtrip validator cannot be reached: every publish and play it checks is refused until it answers',
            {
              url: this.#roundtrip?.url,
            },
          )
      })
    }
  }

  async stop(): Promise<void> {
    this.#file?.stop()
    this.#refusals.stop()
  }

  /** The decision for one publish or play (bound: pass it around as an `Authorize`). */
  authorize = async (request: AccessRequest): Promise<AccessVerdict> => {
    const verdict = await this.#decide(request).catch(
      (err: Error): AccessVerdict => ({ allowed: false, reason: 'validator-failed', detail: err.message }),
    )
    const counts = this.#counts[request.action]
    if (verdict.allowed) counts.allowed++
    else {
      counts.refused[verdict.reason]++
      const where = `${request.action} /${request.app}/${request.name} (${request.protocol})`
      this.#refusals.event(verdict.reason, `${where}: ${verdict.detail}`, request.clientIp)
    }
    return verdict
  }

  /** Publishes and plays allowed and refused (by reason) since start: `/metrics`. */
  counts(): Counts {
    return structuredClone(this.#counts)
  }

  /** The credentials file's reloads (and failed ones); null without the file validator. */
  reloads(): { reloads: number; failures: number } | null {
    const f = this.#file
    return f === null ? null : { reloads: f.reloads, failures: f.reloadFailures }
  }

  async #decide(request: AccessRequest): Promise<AccessVerdict> {
    const c = request.credentials
    const protectedHere = request.action === 'publish' ? this.settings.publish : this.settings.play
    const odd =
      (c.username?.length ?? 0) > MAX_USERNAME ||
      (c.password?.length ?? 0) > MAX_PASSWORD ||
      (c.token?.length ?? 0) > MAX_TOKEN
    // what is not protected needs nothing, whatever the client sends
    if (!protectedHere) return { allowed: true, user: null, owner: null }
    if (odd) return refused('odd-credentials', 'credentials longer than any this node accepts')
    if (c.username === CLUSTER_USER) return this.#member(request)
    if (!hasCredentials(c)) return refused('no-credentials', 'no credentials given')
    if (this.#file !== null) {
      if (c.username === undefined || c.password === undefined)
        return refused('bad-credentials', 'a user name and a password are needed')
      const ok = await this.#file.check(c.username, c.password)
      return ok
        ? { allowed: true, user: c.username, owner: this.#owner(request, c.username) }
        : refused('bad-credentials', 'unknown user or wrong password')
    }
    if (this.#roundtrip !== null) {
      const answer = await this.#roundtrip.ask(request)
      if (answer.allowed)
        return {
          allowed: true,
          user: c.username ?? null,
          owner: this.#owner(request, c.username ?? '', answer.group),
        }
      const reason = answer.detail === 'the validator refused' ? 'not-allowed' : 'validator-failed'
      return refused(reason, answer.detail)
    }
    return refused('validator-failed', 'no validator is configured')
  }

  /** A member's pull: plays only, with a token for this stream or the cluster password itself (as Red5 Pro edges send it). */
  #member(request: AccessRequest): AccessVerdict {
    const { token, password } = request.credentials
    if (request.action !== 'play') return refused('not-allowed', `${CLUSTER_USER} may only play`)
    const byToken = token !== undefined && this.tokens.verify(token, request.app, request.name)
    const byPassword = password !== undefined && matchesPlain(this.settings.clusterPassword, password)
    return byToken || byPassword
      ? { allowed: true, user: CLUSTER_USER, owner: null }
      : refused('bad-credentials', `${CLUSTER_USER} without a good token or the cluster password`)
  }

  /** A checked publish's owner tag; plays own nothing. */
  #owner(request: AccessRequest, user: string, group?: string): string | null {
    return request.action === 'publish' ? this.#owners.of(user, group) : null
  }

  #what(): { publish: boolean; play: boolean; validator: string } {
    return { publish: this.settings.publish, play: this.settings.play, validator: this.settings.validator }
  }
}

function refused(reason: AccessRefusal, detail: string): AccessVerdict {
  return { allowed: false, reason, detail }
}

function zero(): Record<AccessRefusal, number> {
  return Object.fromEntries(REFUSALS.map((r) => [r, 0])) as Record<AccessRefusal, number>
}
