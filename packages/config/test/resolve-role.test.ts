import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type OriginAddress, resolveRole } from '../src/index.ts'

const ORIGIN: OriginAddress = { host: '203.0.113.10', port: 1935, text: '203.0.113.10' }

describe('resolveRole', () => {
  it('makes an auto node without origins an origin', () => {
    assert.equal(resolveRole('auto', []), 'origin')
  })

  it('makes an auto node with origins an edge', () => {
    assert.equal(resolveRole('auto', [ORIGIN]), 'edge')
  })

  it('makes an off node standalone, origins or not', () => {
    assert.equal(resolveRole('off', []), 'standalone')
    assert.equal(resolveRole('off', [ORIGIN]), 'standalone')
  })

  it('keeps an explicit origin, edge or relay, even an edge without origins', () => {
    assert.equal(resolveRole('origin', []), 'origin')
    assert.equal(resolveRole('edge', []), 'edge')
    assert.equal(resolveRole('edge', [ORIGIN]), 'edge')
    assert.equal(resolveRole('relay', [ORIGIN]), 'relay')
  })
})
