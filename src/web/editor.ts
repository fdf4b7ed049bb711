/**
 * Configuration edits end to end: load the file, apply a form's fragment (edit.ts), write the new model in
 * the file's own format, validate that exact text with the same validator as `pulse --check-config`, and
 * only then save it atomically (previous version kept). Edits are serialised, and refused when the file
 * changed on disk since the form was loaded (the form carries the version it was built from).
 */
import { parse as parseYamlText } from 'yaml';
import type { ConfigDiagnostic, LvsModel } from '../config/model';
import { unreadableFile } from '../config';
import { ConfigError } from '../config/model';
import { applyEdit, type Change, type Edit, type FieldError, mapDiagnostics } from './edit';
import type { Scope } from './fields';

/** The formats a configuration file can be in (kept when it is saved). */
export type Format = 'yaml' | 'lvs.cf' | 'json';

/** The parts of the config module the editor uses (src/config/index.ts). */
export interface ConfigApi {
  loadConfig(path: string, text?: string): { model: LvsModel; warnings: ConfigDiagnostic[] };
  dumpConfig(model: LvsModel, format: 'yaml' | 'lvs.cf'): string;
  detectFormat(path: string, text: string): Format;
}

/** The file edge (configfile.ts). */
export interface ConfigStore {
  read(path: string): string;
  save(path: string, text: string): { previous: string };
  version(text: string): string;
}

/** The current file: path, format, version (content hash), model and warnings. */
export interface Loaded {
  path: string;
  format: Format;
  version: string;
  model: LvsModel;
  warnings: ConfigDiagnostic[];
}

/** A saved edit (with what was written), or why it was refused (HTTP status and errors). */
export type SaveResult =
  | {
      ok: true;
      path: string;
      previous: string;
      version: string;
      changes: Change[];
      warnings: ConfigDiagnostic[];
      scope: Scope;
      /** What was written. */
      model: LvsModel;
      text: string;
      format: Format;
    }
  | { ok: false; status: 404 | 409 | 422 | 500; errors: FieldError[]; scope?: Scope };

/** Text of a model in a format (JSON: the YAML document re-serialised as JSON). */
export function render(api: ConfigApi, model: LvsModel, format: Format): string {
  if (format === 'json') return `${JSON.stringify(parseYamlText(api.dumpConfig(model, 'yaml')), null, 2)}\n`;
  return api.dumpConfig(model, format);
}

/** Loads, edits, validates and saves the configuration file, one edit at a time. */
export class ConfigEditor {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly api: ConfigApi,
    private readonly store: ConfigStore,
    /** Resolves the config path (from the command line, or asked of the daemon). */
    private readonly path: () => Promise<string>,
  ) {}

  /** Loads and validates the current file. @throws ConfigError when it does not load. */
  async load(): Promise<Loaded> {
    const path = await this.path();
    let text: string;
    try {
      text = this.store.read(path);
    } catch (e) {
      throw unreadableFile(path, e);
    }
    const { model, warnings } = this.api.loadConfig(path, text);
    return {
      path,
      format: this.api.detectFormat(path, text),
      version: this.store.version(text),
      model,
      warnings,
    };
  }

  /** Applies an edit made on the form of `baseVersion`; saves only a text the validator accepts. */
  apply(edit: Edit, baseVersion: string | undefined): Promise<SaveResult> {
    const run = this.chain.then(() => this.applyNow(edit, baseVersion));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async applyNow(edit: Edit, baseVersion: string | undefined): Promise<SaveResult> {
    let cur: Loaded;
    try {
      cur = await this.load();
    } catch (e) {
      const diags = e instanceof ConfigError ? e.diagnostics.filter((d) => d.severity === 'error') : [];
      return {
        ok: false,
        status: 500,
        errors: diags.length
          ? diags.map((d) => ({
              message: `the file on disk does not load: ${d.message}`,
              file: d.file,
              line: d.line,
              col: d.col,
            }))
          : [{ message: (e as Error).message }],
      };
    }
    if (baseVersion !== cur.version)
      return {
        ok: false,
        status: 409,
        errors: [
          {
            message:
              'the configuration file changed since this form was loaded; reload the page and redo the edit',
          },
        ],
      };
    const r = applyEdit(cur.model, edit);
    if (!r.ok) return r;
    const text = render(this.api, r.model, cur.format);
    let warnings: ConfigDiagnostic[];
    try {
      warnings = this.api.loadConfig(cur.path, text).warnings;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return {
        ok: false,
        status: 422,
        errors: mapDiagnostics(e.diagnostics, text, cur.format, r.scope),
        scope: r.scope,
      };
    }
    let previous: string;
    try {
      previous = this.store.save(cur.path, text).previous;
    } catch (e) {
      return { ok: false, status: 500, errors: [{ message: cannotSave(cur.path, e) }], scope: r.scope };
    }
    return {
      ok: true,
      path: cur.path,
      previous,
      version: this.store.version(text),
      changes: r.changes,
      warnings,
      scope: r.scope,
      model: r.model,
      text,
      format: cur.format,
    };
  }

  /**
   * Replaces the whole file with a text pushed by the peer router: same format, a newer serial_no, and
   * valid for the same validator; saved atomically like an edit.
   */
  replace(text: string, format: Format, serial: number, guard?: ReplaceGuard): Promise<ReplaceResult> {
    const run = this.chain.then(() => this.replaceNow(text, format, serial, guard));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async replaceNow(
    text: string,
    format: Format,
    serial: number,
    guard: ReplaceGuard | undefined,
  ): Promise<ReplaceResult> {
    const cur = await this.load();
    if (format !== cur.format)
      return {
        ok: false,
        status: 422,
        errors: [{ message: `pushed a ${format} file; this router's ${cur.path} is ${cur.format}` }],
      };
    if (serial <= cur.model.serialNo)
      return {
        ok: false,
        status: 409,
        errors: [
          { message: `pushed serial_no ${serial} is not newer than this router's ${cur.model.serialNo}` },
        ],
      };
    let model: LvsModel;
    try {
      model = this.api.loadConfig(cur.path, text).model;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return {
        ok: false,
        status: 422,
        errors: e.diagnostics
          .filter((d) => d.severity === 'error')
          .map((d) => ({ message: d.message, file: d.file, line: d.line, col: d.col })),
      };
    }
    if (model.serialNo !== serial)
      return {
        ok: false,
        status: 422,
        errors: [{ message: `the text's serial_no ${model.serialNo} is not the announced ${serial}` }],
      };
    const refused = guard?.(cur.model, model);
    if (refused) return { ok: false, status: 403, errors: refused };
    let previous: string;
    try {
      previous = this.store.save(cur.path, text).previous;
    } catch (e) {
      return { ok: false, status: 500, errors: [{ message: cannotSave(cur.path, e) }] };
    }
    return {
      ok: true,
      path: cur.path,
      previous,
      from: cur.model.serialNo,
      to: serial,
      before: cur.model,
      model,
    };
  }
}

/** Decides, with the current and the new model, whether a pushed file may replace the current one. */
export type ReplaceGuard = (before: LvsModel, after: LvsModel) => FieldError[] | undefined;

/** A file pushed by the peer: saved (serial from → to, with both models), or why not. */
export type ReplaceResult =
  | { ok: true; path: string; previous: string; from: number; to: number; before: LvsModel; model: LvsModel }
  | { ok: false; status: 403 | 409 | 422 | 500; errors: FieldError[] };

/**
 * Why a file could not be saved, for the page: a file only root may write is one the console (its own
 * user) cannot save — on purpose where it names programs root runs (docs/web.md).
 */
function cannotSave(path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  const perm = code === 'EACCES' || code === 'EPERM';
  return perm
    ? `cannot save ${path} (${code}): the console runs as uid ${process.geteuid?.() ?? '?'}, which may not ` +
        'write it; edit it as root, or give the file to the console’s user (docs/web.md, "Running without root")'
    : `cannot save ${path} (${code})`;
}
