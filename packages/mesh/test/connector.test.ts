import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type Logger, SafeEmitter } from '@meshcast/interface'
import { Connector, type ConnectorComponents } from '../src/transport/connector.ts'
import type { MeshTransport, TransportEvents } from '../src/transport/transport.ts'

/** A transport whose every dial is refused, recording what was dialled (as /ip4/…/tcp/… multiaddrs). */
function refusingTransport(dialled: string[]): ConnectorComponents['transport'] {
  const refuse = async (what: string): Promise<never> => {
    dialled.push(what)
    throw new Error('connect ECONNREFUSED')
  }
  return {
    events: new SafeEmitter<TransportEvents>(() => {}),
    isConnected: () => false,
    remember() {},
    dial: (target) => refuse(`/ip4/${target.host}/tcp/${target.port}`),
    dialPeer: (peer) => refuse(peer),
  } satisfies Pick<MeshTransport, 'events' | 'dial' | 'dialPeer' | 'remember' | 'isConnected'>
}

function recordingLogger(lines: string[]): Logger {
  const log = (message: string) => lines.push(message)
  const logger = { debug() {}, info: log, warn: log, error: log, child: () => logger }
  return logger as unknown as Logger
}

describe('Connector: seeds given as DNS names', () => {
  test('a name is dialled at every address it resolves to, except this node; a refresh dials only new ones', async () => {
    const dialled: string[] = []
    const lines: string[] = []
    let records = ['10.0.0.1', '10.0.0.2', '10.0.0.3']
    let fail = false
    const connector = new Connector(
      {
        selfId: 'self',
        self: { host: '10.0.0.1', port: 7800 },
        seeds: [
          { host: 'replicas.test', port: 7800 },
          { host: '10.0.0.9', port: 7800 },
        ],
        retryInterval: 60_000,
      },
      {
        transport: refusingTransport(dialled),
        logger: recordingLogger(lines),
        lookup: async () => {
          if (fail) throw Object.assign(new Error('queryA ESERVFAIL replicas.test'), { code: 'ESERVFAIL' })
          return records
        },
      },
    )
    connector.start()
    try {
      await connector.firstRound
      assert.deepEqual(dialled.sort(), [
        '/ip4/10.0.0.2/tcp/7800',
        '/ip4/10.0.0.3/tcp/7800',
        '/ip4/10.0.0.9/tcp/7800',
      ])
      assert.ok(lines.includes('mesh seed replicas.test resolves to 10.0.0.1, 10.0.0.2, 10.0.0.3'))

      dialled.length = 0
      records = [...records, '10.0.0.4']
      await connector.refresh()
      assert.deepEqual(dialled, ['/ip4/10.0.0.4/tcp/7800'], 'only the new replica is dialled at once')

      // a lookup that fails keeps the addresses known, and is said once
      dialled.length = 0
      fail = true
      await connector.dialSeeds()
      await connector.dialSeeds()
      assert.equal(dialled.length, 8, 'the four known addresses, twice')
      assert.equal(lines.filter((l) => l.startsWith('cannot resolve mesh seed replicas.test')).length, 1)
    } finally {
      connector.stop()
    }
  })
})
