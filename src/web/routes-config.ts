/**
 * Configuration routes: the forms' data (GET /api/config) and every edit (global settings, redundancy,
 * virtual and real servers: add, edit, activate, delete). Each edit is validated, saved atomically,
 * audited, applied by a reload, and pushed to the peer when configured (peer-push.ts).
 */
import type { FastifyInstance } from 'fastify';
import { ConfigError } from '../config/model';
import { reloadDaemon, type WebContext } from './context';
import type { Edit, Fields } from './edit';
import type { SaveResult } from './editor';
import { newRealServer, newVirtualServer, viewFields } from './fields';
import { pushSavedConfig } from './peer-push';

/** Registers GET /api/config and the edit routes (PUT/POST/DELETE under /api/config/). */
export function registerConfigRoutes(app: FastifyInstance, ctx: WebContext): void {
  app.get('/api/config', async (_req, reply) => {
    try {
      const c = await ctx.editor.load();
      const m = c.model;
      const first = m.virtualServers[0];
      return {
        path: c.path,
        format: c.format,
        version: c.version,
        serial: m.serialNo,
        warnings: c.warnings.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`),
        global: viewFields('global', m),
        redundancy: viewFields('redundancy', m),
        virtualServers: m.virtualServers.map((v) => ({
          name: v.name,
          active: v.active,
          vip: `${v.vip.address}/${v.vip.prefixLength}${v.vip.device ? ` ${v.vip.device}` : ''}`,
          service: v.fwmark !== undefined ? `fwmark ${v.fwmark}` : `${v.protocol}/${v.port}`,
          scheduler: v.scheduler,
          fields: viewFields('virtual', v),
          realServers: v.realServers.map((r) => ({
            name: r.name,
            address: r.address,
            port: r.port,
            weight: r.weight,
            active: r.active,
            fields: viewFields('real', r),
          })),
        })),
        templates: {
          virtual: viewFields('virtual', newVirtualServer()),
          real: viewFields('real', newRealServer(first ?? newVirtualServer())),
        },
      };
    } catch (err) {
      if (err instanceof ConfigError)
        return reply.code(500).send({
          errors: err.diagnostics
            .filter((d) => d.severity === 'error')
            .map((d) => ({ message: d.message, file: d.file, line: d.line, col: d.col })),
        });
      return reply.code(502).send({ error: (err as Error).message });
    }
  });

  type P = Record<string, string>;
  const editRoute = (
    method: 'POST' | 'PUT' | 'DELETE',
    url: string,
    make: (p: P, fields: Fields) => Edit,
  ) => {
    app.route({
      method,
      url,
      handler: async (req, reply) => {
        const body = (req.body ?? {}) as { version?: unknown; fields?: unknown };
        const version =
          typeof body.version === 'string' ? body.version : (req.query as { version?: string }).version;
        const fields = (typeof body.fields === 'object' && body.fields !== null ? body.fields : {}) as Fields;
        const edit = make(req.params as P, fields);
        let r: SaveResult;
        try {
          r = await ctx.editor.apply(edit, version);
        } catch (err) {
          return reply.code(502).send({ error: (err as Error).message });
        }
        const target =
          'virtual' in edit ? `${edit.virtual}${'real' in edit ? `/${edit.real}` : ''}` : edit.kind;
        if (!r.ok) {
          ctx.audit(req, 'info', 'config edit refused', {
            op: 'config',
            edit: edit.kind,
            target,
            status: r.status,
            errors: JSON.stringify(r.errors).slice(0, 2000),
          });
          return reply.code(r.status).send({ errors: r.errors });
        }
        ctx.audit(req, 'info', 'config saved', {
          op: 'config',
          edit: edit.kind,
          target,
          file: r.path,
          previous: r.previous,
          changes: JSON.stringify(r.changes).slice(0, 4000),
        });
        const reload = await reloadDaemon(ctx);
        ctx.audit(req, 'info', 'reload after config save', {
          op: 'reload',
          result: JSON.stringify(reload).slice(0, 2000),
        });
        const peer = ctx.opts.peer ? await pushSavedConfig(ctx, req, r) : undefined;
        return {
          ok: true,
          path: r.path,
          previous: r.previous,
          version: r.version,
          changes: r.changes,
          warnings: r.warnings.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`),
          reload,
          ...(peer ? { peer } : {}),
        };
      },
    });
  };
  editRoute('PUT', '/api/config/global', (_p, fields) => ({ kind: 'global', fields }));
  editRoute('PUT', '/api/config/redundancy', (_p, fields) => ({ kind: 'redundancy', fields }));
  editRoute('POST', '/api/config/virtual', (_p, fields) => ({ kind: 'virtual-add', fields }));
  editRoute('PUT', '/api/config/virtual/:vs', (p, fields) => ({
    kind: 'virtual-edit',
    virtual: p.vs!,
    fields,
  }));
  editRoute('DELETE', '/api/config/virtual/:vs', (p) => ({ kind: 'virtual-delete', virtual: p.vs! }));
  editRoute('POST', '/api/config/virtual/:vs/real', (p, fields) => ({
    kind: 'real-add',
    virtual: p.vs!,
    fields,
  }));
  editRoute('PUT', '/api/config/virtual/:vs/real/:rs', (p, fields) => ({
    kind: 'real-edit',
    virtual: p.vs!,
    real: p.rs!,
    fields,
  }));
  editRoute('DELETE', '/api/config/virtual/:vs/real/:rs', (p) => ({
    kind: 'real-delete',
    virtual: p.vs!,
    real: p.rs!,
  }));
}
