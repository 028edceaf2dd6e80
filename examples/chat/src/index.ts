import type { Application } from '@meshcast/node'
import { ChatRoom } from './room.ts'
import { chatSettings } from './settings.ts'

/** Security headers for every response of the app: its pages load only their own scripts and styles. */
const HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
}

/**
 * chatr, the clustered chat: the page at `/chatr/chatr.html` (from
 * `public/`), its WebSocket at `/chatr/ws`, and the room it joins on every
 * node of the cluster.
 */
export default function chatr(): Application {
  let room: ChatRoom | null = null
  return {
    start(ctx) {
      const settings = chatSettings(ctx.settings, ctx.log)
      ctx.http.use((_req, res, next) => {
        res.set(HEADERS)
        next()
      })
      ctx.http.get('/', (_req, res) => res.redirect(302, 'chatr.html'))
      room = new ChatRoom(ctx, settings)
      ctx.log.info('chatr is in the cluster', {
        node: ctx.cluster.id,
        members: ctx.cluster.view.members.length,
        ...settings,
      })
    },
    async stop() {
      await room?.close()
      room = null
    },
  }
}
