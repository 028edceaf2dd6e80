// meshcast dashboard: renders the node's server-sent updates; plays a stream with mpegts.js.
// Everything from the cluster is put on the page as text (textContent), never as HTML.

const $ = (id) => document.getElementById(id)
const EVENT_LINES = 200

/** The same short form of a node id as the server's event log uses. */
function shortId(id) {
  return (id.startsWith('12D3KooW') ? id.slice(8) : id).slice(0, 8)
}

function cell(row, text, className) {
  const td = document.createElement('td')
  if (text instanceof Node) td.append(text)
  else td.textContent = text
  if (className) td.className = className
  row.append(td)
  return td
}

function tag(text, className) {
  const span = document.createElement('span')
  span.className = `tag ${className}`
  span.textContent = text
  return span
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows)
}

let roles = new Map()
function nodeName(id) {
  const role = roles.get(id)
  return role ? `${role} ${shortId(id)}` : shortId(id)
}

/** A member's name, or for an origin outside the mesh (`rtmp://host:port`) a "foreign" tag and its address. */
function upstreamName(id) {
  if (!id.startsWith('rtmp://')) return nodeName(id)
  const span = document.createElement('span')
  span.title = 'an RTMP origin that is not a meshcast node: pulled over plain RTMP, no adverts'
  span.append(tag('foreign', 'foreign'), ` ${id.slice('rtmp://'.length)}`)
  return span
}

function renderMembers(snapshot) {
  roles = new Map(snapshot.members.map((m) => [m.id, m.role]))
  const self = snapshot.members.find((m) => m.self)
  $('node').textContent = self
    ? `this node: ${self.role} ${shortId(self.id)}`
    : `this node: ${shortId(snapshot.self)}`
  $('view').textContent = snapshot.viewId === null ? '(standalone)' : `(view ${snapshot.viewId})`
  const rows = snapshot.members.map((m) => {
    const tr = document.createElement('tr')
    if (m.self) tr.className = 'self'
    if (m.suspect) tr.classList.add('suspect')
    tr.title = m.id
    cell(tr, shortId(m.id))
    cell(tr, m.role)
    const flags = document.createElement('span')
    if (m.coordinator) flags.append(tag('coordinator', 'coord'))
    if (m.privateInstance) flags.append(tag('private', 'private'))
    if (m.suspect) flags.append(tag(`suspect: ${m.suspect}`, 'suspect'))
    cell(tr, flags)
    cell(tr, m.rtmp)
    const a = document.createElement('a')
    a.href = `http://${m.http}/`
    a.textContent = m.http
    cell(tr, a)
    cell(tr, String(m.subscribers), 'num')
    cell(tr, String(m.streams), 'num')
    const age = Math.max(0, (snapshot.at - m.lastHeard) / 1000)
    cell(tr, m.self ? 'self' : `${age.toFixed(1)} s ago`)
    return tr
  })
  fill($('members').tBodies[0], rows)
}

function renderStreams(snapshot) {
  const rows = []
  for (const s of snapshot.streams) {
    s.carriers.forEach((c, i) => {
      const tr = document.createElement('tr')
      const codecs = [s.video, s.audio].filter(Boolean).join('+')
      cell(tr, i === 0 ? `${s.path}${codecs ? ` (${codecs})` : ''}` : '')
      cell(tr, nodeName(c.node))
      cell(tr, c.source === 'publish' ? 'published' : `${c.source} pull`)
      cell(tr, c.upstream === null ? '' : upstreamName(c.upstream))
      cell(tr, String(c.subscribers), 'num')
      cell(tr, c.kbps === null ? '' : String(c.kbps), 'num')
      if (i === 0) {
        const button = document.createElement('button')
        button.type = 'button'
        button.textContent = 'Play here'
        button.dataset.path = s.path
        button.addEventListener('click', () => play(s.path))
        cell(tr, button)
      } else cell(tr, '')
      rows.push(tr)
    })
  }
  $('no-streams').hidden = snapshot.streams.length > 0
  fill($('streams').tBodies[0], rows)
}

function renderBus(snapshot, rates) {
  const bus = snapshot.bus
  const rate = $('bus-rate').cells
  const total = $('bus-total').cells
  const r = bus === null ? [] : [rates.sent, rates.delivered, rates.retransmitted, rates.dropped, '']
  const t = bus === null ? [] : [bus.sent, bus.delivered, bus.retransmitted, bus.dropped, bus.gapsLost]
  for (let i = 0; i < 5; i++) {
    rate[i + 1].textContent = bus === null ? '–' : String(r[i])
    total[i + 1].textContent = bus === null ? '–' : String(t[i])
  }
}

function renderEvents(events, full) {
  const list = $('events')
  if (full) list.replaceChildren()
  for (const e of events) {
    const li = document.createElement('li')
    li.className = e.kind
    const time = document.createElement('time')
    time.dateTime = new Date(e.at).toISOString()
    time.textContent = new Date(e.at).toLocaleTimeString()
    li.append(time, e.text)
    list.prepend(li)
  }
  while (list.children.length > EVENT_LINES) list.lastElementChild.remove()
}

function renderWarnings(snapshot) {
  const list = $('warnings')
  const items = (snapshot.warnings ?? []).map((text) => {
    const li = document.createElement('li')
    li.textContent = text
    return li
  })
  list.hidden = items.length === 0
  list.replaceChildren(...items)
}

function render(update) {
  renderWarnings(update.snapshot)
  renderMembers(update.snapshot)
  renderStreams(update.snapshot)
  renderBus(update.snapshot, update.rates)
  renderEvents(update.events, update.full === true)
}

function connect() {
  const link = $('link')
  const source = new EventSource('/api/dashboard/events')
  source.addEventListener('open', () => {
    link.textContent = 'live'
    link.className = 'link live'
  })
  source.addEventListener('error', () => {
    link.textContent = 'connection lost: reconnecting…'
    link.className = 'link down'
  })
  source.addEventListener('update', (e) => render(JSON.parse(e.data)))
}

let player = null

function stop() {
  if (player !== null) {
    player.destroy()
    player = null
  }
  $('stop').disabled = true
  $('playing').textContent = '(choose a stream above)'
  $('player-state').textContent = ''
}

/** Plays `/app/name` over HTTP-FLV from this node (an edge pulls it if it must). */
function play(path) {
  stop()
  const state = $('player-state')
  if (typeof mpegts === 'undefined' || !mpegts.getFeatureList().mseLivePlayback) {
    state.textContent = 'this browser cannot play live FLV (no Media Source Extensions)'
    return
  }
  player = mpegts.createPlayer(
    { type: 'flv', isLive: true, url: `${location.origin}${path}.flv` },
    { enableStashBuffer: false, liveBufferLatencyChasing: true },
  )
  player.on(mpegts.Events.ERROR, (type, detail) => {
    state.textContent = `player error: ${type} ${detail}`
  })
  player.attachMediaElement($('video'))
  player.load()
  const started = player.play()
  if (started && typeof started.catch === 'function')
    started.catch((err) => {
      state.textContent = `cannot start playback: ${err.message}`
    })
  $('playing').textContent = path
  $('stop').disabled = false
  state.textContent = 'playing from this node'
}

$('stop').addEventListener('click', stop)
connect()
// `/?play=live/demo` starts that stream at once (the demo prints such links)
const wanted = new URLSearchParams(location.search).get('play')
if (wanted) play(`/${wanted.replace(/^\/+/, '')}`)
