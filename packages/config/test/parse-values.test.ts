import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { NODE_TYPES } from '@meshcast/interface'
import { InvalidValueError } from '../src/index.ts'
import {
  parseBoolean,
  parseNodeType,
  parsePassword,
  parsePort,
  parseRetryDuration,
} from '../src/parse-values.ts'

describe('parsePort', () => {
  it('accepts whole numbers from 1 to 65535, surrounding spaces ignored', () => {
    assert.equal(parsePort('1'), 1)
    assert.equal(parsePort(' 1935 '), 1935)
    assert.equal(parsePort('65535'), 65535)
  })

  for (const text of ['0', '65536', '-1', '19.35', '1e3', 'abc', '', '0x50', '+80']) {
    it(`rejects ${JSON.stringify(text)} saying what is valid`, () => {
      assert.throws(() => parsePort(text), { name: 'InvalidValueError', message: /1 to 65535/ })
    })
  }
})

describe('parseBoolean', () => {
  it('accepts true and false in any case', () => {
    assert.equal(parseBoolean('true'), true)
    assert.equal(parseBoolean('TRUE'), true)
    assert.equal(parseBoolean(' False '), false)
  })

  for (const text of ['yes', '1', '', 'on']) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseBoolean(text), { name: 'InvalidValueError', message: /true or false/ })
    })
  }
})

describe('parseRetryDuration', () => {
  it('accepts whole and decimal seconds above 0', () => {
    assert.equal(parseRetryDuration('30'), 30)
    assert.equal(parseRetryDuration('2.5'), 2.5)
    assert.equal(parseRetryDuration('.5'), 0.5)
  })

  for (const text of ['0', '0.0', '-5', 'abc', '', '30s', 'Infinity', 'NaN']) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseRetryDuration(text), { name: 'InvalidValueError', message: /greater than 0/ })
    })
  }
})

describe('parseNodeType', () => {
  it('accepts every node type, in any case', () => {
    for (const type of NODE_TYPES) assert.equal(parseNodeType(type), type)
    assert.equal(parseNodeType(' Edge '), 'edge')
  })

  it('rejects an unknown type, listing the valid ones', () => {
    assert.throws(() => parseNodeType('hub'), { message: /auto, off, origin, edge, relay/ })
  })
})

describe('parsePassword', () => {
  it('accepts lowercase text, digits and symbols', () => {
    assert.equal(parsePassword('s3cret-pass_word!'), 's3cret-pass_word!')
  })

  it('rejects a capital letter, saying why', () => {
    assert.throws(() => parsePassword('Secret'), InvalidValueError)
    assert.throws(() => parsePassword('Secret'), {
      message: /capital.*Red5 Pro.*authenticate.*cluster key.*"secret"/s,
    })
  })

  it('rejects an empty or blank password', () => {
    assert.throws(() => parsePassword(''), { name: 'InvalidValueError', message: /empty/ })
    assert.throws(() => parsePassword('   '), { name: 'InvalidValueError', message: /empty/ })
  })
})
