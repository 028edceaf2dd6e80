// The only module that imports node-media-server. Its state is a process-wide
// singleton (core/context.js), which is why meshcast runs one node per process.
import NodeMediaServer from 'node-media-server'
import Context from 'node-media-server/src/core/context.js'
import nmsLogger from 'node-media-server/src/core/logger.js'
import RtmpSession from 'node-media-server/src/session/rtmp_session.js'

export { Context, NodeMediaServer, nmsLogger, RtmpSession }
export type NmsSession = (typeof Context.sessions extends Map<string, infer S> ? S : never) & object
