import { type InvokeHandlers, isEdgeRole, type Role } from '@meshcast/interface'
import { type AppBus, appNamespace } from './app-bus.ts'
import type { AppScope } from './app-scope.ts'
import type { ClusterHandle, ClusterPort } from './types.ts'

export interface ClusterHandleDeps {
  name: string
  role: Role
  clustered: boolean
  port: ClusterPort
  scope: AppScope
  bus: AppBus
}

/**
 * The cluster as one application sees it. Handler and state names get the
 * app's namespace (`app/<name>/…`) on the mesh; every callback runs under the
 * app's scope, and every registration is released when the app stops.
 */
export function clusterHandle(deps: ClusterHandleDeps): ClusterHandle {
  const { name, role, clustered, port, scope, bus } = deps
  const ns = appNamespace(name)
  return {
    id: port.id,
    role,
    clustered,
    isOrigin: () => role === 'origin',
    isEdge: () => isEdgeRole(role),
    isCoordinator: () => port.view.coordinator === port.id,
    get view() {
      return port.view
    },
    onView(listener) {
      scope.assertOpen()
      return scope.track(
        port.events.on('view', (change) => scope.call('view listener', () => listener(change))),
      )
    },
    async send(target, channel, data, options) {
      scope.assertOpen()
      await scope.outside(() => bus.send(target, channel, data, options))
    },
    onMessage(channel, handler) {
      scope.assertOpen()
      return scope.track(bus.onMessage(channel, handler))
    },
    async invoke(target, method, args, options) {
      scope.assertOpen()
      return await scope.outside(() => port.invoke(target, `${ns}/${method}`, args, options))
    },
    register(handlerName, handlers) {
      scope.assertOpen()
      const guarded: Record<string, (args: unknown, from: string) => unknown> = {}
      for (const [method, fn] of Object.entries(handlers)) {
        guarded[method] = (args, from) =>
          scope.value(`invocation ${handlerName}.${method}`, () => fn(args, from))
      }
      return scope.track(port.register(`${ns}/${handlerName}`, guarded satisfies InvokeHandlers))
    },
    registerState(stateName, handlers) {
      scope.assertOpen()
      return scope.track(
        port.registerState(`${ns}/${stateName}`, {
          provide: () => scope.value(`state provider "${stateName}"`, handlers.provide),
          receive: (state) => scope.call(`state receiver "${stateName}"`, () => handlers.receive(state)),
        }),
      )
    },
    async fetchState(stateName, from) {
      scope.assertOpen()
      return await scope.outside(() => port.fetchState(from, `${ns}/${stateName}`))
    },
  }
}
