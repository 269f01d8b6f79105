/**
 * Validation of Kubernetes objects against the v1.30 API schema, with unknown fields rejected (as
 * `kubectl apply --validate=strict` and the API server's strict field validation do).
 *
 * The schema comes from the `kubernetes-types@1.30.0` package: TypeScript declarations generated
 * from the official Kubernetes v1.30 OpenAPI document, one interface per definition, optional
 * properties marked `?`. This file turns those declarations into JSON Schema (via the TypeScript
 * compiler's parser: properties, required-ness, primitive types, string-literal `apiVersion` and
 * `kind`, arrays, maps, `IntOrString` unions) with `additionalProperties: false` everywhere, and
 * validates with Ajv. What the declarations cannot carry — formats (int32, date-time), enums that
 * the OpenAPI document only states in prose, CEL rules — is not checked here.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import ts from 'typescript';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';

type Schema = Record<string, unknown>;

const require = createRequire(import.meta.url);
const ROOT = dirname(require.resolve('kubernetes-types/package.json'));

/** `apps/v1` → `apps/v1`, `v1` → `core/v1`, `networking.k8s.io/v1` → `networking/v1`. */
function moduleOf(apiVersion: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  return `${group!.split('.')[0]}/${version}`;
}

/** `core/v1` + `Pod` → `core.v1.Pod` (no `/`, which a JSON pointer would need escaped). */
function defId(module: string, name: string): string {
  return `${module.replace('/', '.')}.${name}`;
}

/** Definitions of every module reachable from the ones parsed so far, keyed `module.Name`. */
class SchemaBuilder {
  readonly definitions: Record<string, Schema> = {};
  private readonly parsed = new Set<string>();

  parse(module: string): void {
    if (this.parsed.has(module)) return;
    this.parsed.add(module);
    const file = join(ROOT, `${module}.d.ts`);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const imports = new Map<string, string>();
    for (const st of source.statements) {
      if (
        ts.isImportDeclaration(st) &&
        st.importClause?.namedBindings &&
        ts.isNamedImports(st.importClause.namedBindings)
      ) {
        const from = relative(ROOT, resolve(dirname(file), (st.moduleSpecifier as ts.StringLiteral).text));
        for (const el of st.importClause.namedBindings.elements) imports.set(el.name.text, from);
      }
    }
    const ref = (name: string): Schema => {
      const target = imports.get(name) ?? module;
      if (target !== module) this.parse(target);
      return { $ref: `#/definitions/${defId(target, name)}` };
    };
    const typeOf = (node: ts.TypeNode): Schema => {
      switch (node.kind) {
        case ts.SyntaxKind.StringKeyword:
          return { type: 'string' };
        case ts.SyntaxKind.NumberKeyword:
          return { type: 'number' };
        case ts.SyntaxKind.BooleanKeyword:
          return { type: 'boolean' };
        case ts.SyntaxKind.AnyKeyword:
        case ts.SyntaxKind.UnknownKeyword:
        case ts.SyntaxKind.ObjectKeyword:
          return {};
      }
      if (ts.isLiteralTypeNode(node) && ts.isStringLiteral(node.literal)) return { const: node.literal.text };
      if (ts.isUnionTypeNode(node)) return { anyOf: node.types.map(typeOf) };
      if (ts.isArrayTypeNode(node)) return { type: 'array', items: typeOf(node.elementType) };
      if (ts.isTypeLiteralNode(node)) {
        const index = node.members.find(ts.isIndexSignatureDeclaration);
        if (index) return { type: 'object', additionalProperties: typeOf(index.type) };
        return objectSchema(node.members);
      }
      if (ts.isTypeReferenceNode(node)) {
        const name = node.typeName.getText(source);
        if (name === 'Array') return { type: 'array', items: typeOf(node.typeArguments![0]!) };
        return ref(name);
      }
      throw new Error(`k8s-schema: unsupported type ${node.getText(source)} in ${module}`);
    };
    const objectSchema = (members: ts.NodeArray<ts.TypeElement>): Schema => {
      const properties: Record<string, Schema> = {};
      const required: string[] = [];
      for (const m of members) {
        if (!ts.isPropertySignature(m) || !m.type) continue;
        const name = m.name.getText(source).replace(/^"|"$/g, '');
        properties[name] = typeOf(m.type);
        if (!m.questionToken) required.push(name);
      }
      return { type: 'object', properties, required, additionalProperties: false };
    };
    for (const st of source.statements) {
      if (ts.isInterfaceDeclaration(st)) this.definitions[defId(module, st.name.text)] = objectSchema(st.members);
      else if (ts.isTypeAliasDeclaration(st)) this.definitions[defId(module, st.name.text)] = typeOf(st.type);
    }
  }
}

/** One problem found in an object: JSON pointer into it, and what is wrong. */
export interface SchemaProblem {
  readonly path: string;
  readonly message: string;
}

/** Validates Kubernetes objects against the v1.30 schema (see the module comment). */
export class KubernetesSchema {
  private readonly builder = new SchemaBuilder();
  private readonly ajv = new Ajv({ allErrors: true, strict: false });
  private readonly compiled = new Map<string, ValidateFunction>();

  /**
   * Problems of `object` (empty when valid). An unknown apiVersion/kind is itself a problem.
   * Gateway API HTTPRoutes (a CRD, not part of Kubernetes itself) are checked against the Gateway
   * API v1 schema of `@kubernetes-models/gateway-api` instead, which does not reject unknown fields.
   */
  validate(object: { apiVersion?: unknown; kind?: unknown; [field: string]: unknown }): SchemaProblem[] {
    if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') {
      return [{ path: '', message: 'apiVersion and kind must be strings' }];
    }
    if (object.apiVersion === 'gateway.networking.k8s.io/v1' && object.kind === 'HTTPRoute') {
      try {
        new HTTPRoute(object as ConstructorParameters<typeof HTTPRoute>[0]).validate();
        return [];
      } catch (err) {
        return [{ path: '', message: (err as Error).message }];
      }
    }
    const id = defId(moduleOf(object.apiVersion), object.kind);
    let validate = this.compiled.get(id);
    if (!validate) {
      try {
        this.builder.parse(moduleOf(object.apiVersion));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT')
          return [{ path: '/apiVersion', message: `no such API in Kubernetes v1.30: ${object.apiVersion}` }];
        throw err;
      }
      if (!this.builder.definitions[id])
        return [{ path: '/kind', message: `no kind ${object.kind} in ${object.apiVersion} (Kubernetes v1.30)` }];
      validate = this.ajv.compile({ $ref: `#/definitions/${id}`, definitions: this.builder.definitions });
      this.compiled.set(id, validate);
    }
    if (validate(object)) return [];
    return (validate.errors ?? []).map((e) => ({
      path: e.instancePath,
      message:
        e.keyword === 'additionalProperties'
          ? `unknown field ${String((e.params as { additionalProperty: string }).additionalProperty)}`
          : (e.message ?? e.keyword),
    }));
  }

  /** Throws with every problem listed unless `object` is valid. */
  assertValid(object: {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: { name?: string };
    [field: string]: unknown;
  }): void {
    const problems = this.validate(object);
    if (problems.length > 0) {
      const what = `${String(object.kind)} ${object.metadata?.name ?? ''}`;
      throw new Error(
        `${what} is not a valid Kubernetes v1.30 object:\n${problems.map((p) => `  ${p.path || '/'}: ${p.message}`).join('\n')}`,
      );
    }
  }
}
