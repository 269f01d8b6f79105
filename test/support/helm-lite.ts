/**
 * Renders the small subset of Go templates that Wharf's Helm charts use — `{{ .Values.a.b }}`,
 * `{{ .Values.a | quote }}`, `{{ .Release.Namespace }}`, `{{ .Release.Name }}`,
 * `{{- if [not] .Values.a }}` … `{{- end }}` with Go's `{{-` / `-}}` whitespace trimming — so the
 * charts can be rendered and validated without Helm. Anything else throws: a template that uses
 * more than this subset fails the test instead of rendering wrongly.
 */

/** What the templates can see. */
export interface TemplateContext {
  readonly Values: Record<string, unknown>;
  readonly Release: { readonly Namespace: string; readonly Name: string };
}

/** Renders `text` with `context`. */
export function renderTemplate(text: string, context: TemplateContext): string {
  const parts: ({ text: string } | { action: string })[] = [];
  let last = 0;
  for (const m of text.matchAll(/\{\{(-?)\s*(.*?)\s*(-?)\}\}/g)) {
    let before = text.slice(last, m.index);
    if (m[1] === '-') before = before.replace(/\s+$/, '');
    parts.push({ text: before }, { action: m[2]! });
    last = m.index + m[0].length;
    if (m[3] === '-') while (/\s/.test(text[last] ?? '')) last++;
  }
  parts.push({ text: text.slice(last) });
  let out = '';
  const stack: boolean[] = [];
  const active = (): boolean => stack.every(Boolean);
  for (const part of parts) {
    if ('text' in part) {
      if (active()) out += part.text;
      continue;
    }
    const a = part.action;
    let m: RegExpExecArray | null;
    if ((m = /^if (not )?(\S+)$/.exec(a))) stack.push(Boolean(lookup(m[2]!, context)) !== Boolean(m[1]));
    else if (a === 'end') {
      if (stack.pop() === undefined) throw new Error('helm-lite: {{ end }} without {{ if }}');
    } else if ((m = /^(\.\S+)(?: \| (quote))?$/.exec(a))) {
      if (active()) {
        const value = lookup(m[1]!, context);
        if (value === undefined) throw new Error(`helm-lite: ${m[1]} is not set`);
        out += m[2] ? JSON.stringify(String(value)) : String(value);
      }
    } else throw new Error(`helm-lite: unsupported action {{ ${a} }}`);
  }
  if (stack.length > 0) throw new Error('helm-lite: {{ if }} without {{ end }}');
  return out;
}

function lookup(path: string, context: TemplateContext): unknown {
  if (!path.startsWith('.')) throw new Error(`helm-lite: unsupported expression ${path}`);
  let value: unknown = context;
  for (const key of path.slice(1).split('.')) value = (value as Record<string, unknown> | undefined)?.[key];
  return value;
}
