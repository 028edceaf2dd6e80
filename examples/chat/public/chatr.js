// chatr's page: one WebSocket to the node that served it. Everything shown
// goes through textContent, never innerHTML: what people type stays text.

/** Longest gap between reconnection attempts, in ms. */
const MAX_RETRY_MS = 4000
/** Lines kept on screen. */
const MAX_LINES = 1000

const $ = (id) => document.getElementById(id)
const ui = {
  status: $('status'),
  notice: $('notice'),
  joinForm: $('join-form'),
  name: $('name'),
  connect: $('connect'),
  sendForm: $('send-form'),
  message: $('message'),
  send: $('send'),
  log: $('log'),
  people: $('people'),
  members: $('members'),
}

/** This page's secret: the server derives message ids from it, so a resend is known as one. */
const key = (() => {
  const bytes = crypto.getRandomValues(new Uint8Array(24))
  return btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replaceAll('=', '')
})()

const state = {
  socket: null,
  /** the person wants to be connected: a lost connection is retried */
  wanted: false,
  joined: false,
  /** a connection was lost since the last welcome */
  lost: false,
  name: '',
  node: null,
  nextRef: 1,
  /** sent but not yet acknowledged, by ref: resent after a reconnect (the server drops repeats) */
  pending: new Map(),
  /** ids of the entries on screen */
  seen: new Set(),
  retries: 0,
  retryTimer: null,
}

const short = (id) => (id ? `…${id.slice(-8)}` : '?')
const clock = (ms) =>
  new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })

function el(tag, text, className) {
  const node = document.createElement(tag)
  if (text !== undefined) node.textContent = text
  if (className !== undefined) node.className = className
  return node
}

function notice(text, kind = 'warn') {
  ui.notice.textContent = text
  ui.notice.className = kind
  ui.notice.hidden = text === ''
}

function setStatus() {
  if (state.joined) {
    ui.status.textContent = `Connected to node ${short(state.node)} as ${state.name}`
    ui.status.dataset.node = state.node
  } else {
    ui.status.textContent = state.wanted ? 'Connecting…' : 'Not connected'
    delete ui.status.dataset.node
  }
  ui.connect.textContent = state.wanted ? 'Disconnect' : 'Connect'
  ui.name.disabled = state.wanted
  ui.message.disabled = !state.joined
  ui.send.disabled = !state.joined
}

function socketUrl() {
  const url = new URL('ws', location.href)
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:'
  return url.href
}

function open() {
  clearTimeout(state.retryTimer)
  const socket = new WebSocket(socketUrl())
  state.socket = socket
  socket.addEventListener('open', () => socket.send(JSON.stringify({ type: 'join', name: state.name, key })))
  socket.addEventListener('message', (event) => {
    let frame
    try {
      frame = JSON.parse(event.data)
    } catch {
      return
    }
    onFrame(frame)
  })
  socket.addEventListener('close', (event) => {
    if (socket !== state.socket) return
    onClose(event)
  })
  setStatus()
}

function onClose(event) {
  state.socket = null
  state.joined = false
  setStatus()
  if (!state.wanted) return
  state.lost = true
  const why = event.code === 1013 ? ' (too far behind)' : ''
  notice(`Connection lost${why} — reconnecting…`)
  const delay = Math.min(MAX_RETRY_MS, 250 * 2 ** state.retries) * (0.75 + Math.random() / 2)
  state.retries++
  state.retryTimer = setTimeout(open, delay)
}

function transmit(ref) {
  state.socket?.send(JSON.stringify({ type: 'send', ref, text: state.pending.get(ref) }))
}

function onFrame(frame) {
  switch (frame.type) {
    case 'welcome':
      state.joined = true
      state.node = frame.node
      state.retries = 0
      ui.message.maxLength = frame.limits.text
      setStatus()
      renderMembers(frame.members)
      renderPeople(frame.online)
      for (const entry of frame.history) append(entry)
      if (state.lost) notice('Reconnected.', 'ok')
      else notice('')
      state.lost = false
      for (const ref of state.pending.keys()) transmit(ref)
      break
    case 'entry':
      append(frame.entry)
      break
    case 'history':
      for (const entry of frame.history) append(entry)
      break
    case 'online':
      renderPeople(frame.online)
      break
    case 'members':
      renderMembers(frame.members)
      break
    case 'ack':
      state.pending.delete(frame.ref)
      break
    case 'error':
      if (frame.ref !== undefined) {
        const text = state.pending.get(frame.ref)
        state.pending.delete(frame.ref)
        notice(`Not sent${text === undefined ? '' : ` (“${text}”)`}: ${frame.message}`)
      } else {
        notice(frame.message)
      }
      break
  }
}

function append(entry) {
  if (state.seen.has(entry.id)) return
  state.seen.add(entry.id)
  const line = el('li', undefined, entry.kind)
  const time = el('time', clock(entry.time))
  time.dateTime = new Date(entry.time).toISOString()
  line.title = `node ${entry.node}`
  line.append(time)
  if (entry.kind === 'message') {
    line.append(el('span', entry.name, 'sender'), el('span', entry.text, 'text'))
  } else if (entry.kind === 'join') {
    line.append(el('span', `${entry.name} joined (node ${short(entry.node)})`))
  } else {
    const why = entry.reason === 'node gone' ? ': their node went away' : ''
    line.append(el('span', `${entry.name} left${why}`))
  }
  line.dataset.time = String(entry.time)
  line.dataset.node = entry.node
  line.dataset.id = entry.id
  const atBottom = ui.log.scrollTop + ui.log.clientHeight >= ui.log.scrollHeight - 8
  // In the room's order (as the server's history.ts entryOrder): what another side said while
  // the cluster was split arrives late and goes where its time puts it, the same on every page.
  let after = ui.log.lastElementChild
  while (after !== null && later(after.dataset, entry)) after = after.previousElementSibling
  if (after === null) ui.log.prepend(line)
  else after.after(line)
  while (ui.log.children.length > MAX_LINES) ui.log.firstElementChild.remove()
  if (atBottom && line === ui.log.lastElementChild) line.scrollIntoView({ block: 'nearest' })
}

/** Whether the line shown (its dataset) comes after `entry`: server time, then node, then id. */
function later(shown, entry) {
  const time = Number(shown.time)
  if (time !== entry.time) return time > entry.time
  if (shown.node !== entry.node) return shown.node > entry.node
  return shown.id > entry.id
}

function renderPeople(people) {
  ui.people.replaceChildren(
    ...people.map((p) => {
      const item = el('li', p.name)
      item.append(' ', el('span', `(node ${short(p.node)})`, 'tag'))
      return item
    }),
  )
}

function renderMembers(members) {
  ui.members.replaceChildren(
    ...members.map((m) => {
      const item = el('li', `${short(m.id)} ${m.role} ${m.http}`)
      item.dataset.node = m.id
      const tags = [m.coordinator ? 'coordinator' : '', m.id === state.node ? 'this node' : ''].filter(
        Boolean,
      )
      if (tags.length > 0) item.append(' ', el('span', `(${tags.join(', ')})`, 'tag'))
      return item
    }),
  )
}

ui.joinForm.addEventListener('submit', (event) => {
  event.preventDefault()
  if (state.wanted) {
    state.wanted = false
    clearTimeout(state.retryTimer)
    state.socket?.close(1000)
    state.socket = null
    state.joined = false
    notice('')
    setStatus()
    return
  }
  const name = ui.name.value.trim()
  if (name === '') {
    notice('Enter a name first.')
    ui.name.focus()
    return
  }
  state.name = name
  state.wanted = true
  open()
})

// Enter in the message field submits this form: Enter sends.
ui.sendForm.addEventListener('submit', (event) => {
  event.preventDefault()
  const text = ui.message.value.trim()
  if (text === '' || !state.joined) return
  const ref = state.nextRef++
  state.pending.set(ref, text)
  transmit(ref)
  ui.message.value = ''
  ui.message.focus()
})

setStatus()
