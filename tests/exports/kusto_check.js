// Microsoft's Kusto parser (@kusto/language-service-next) on KQL queries, against
// table schemas: every error it reports (syntax, unknown column or table, type).
//
// Input (stdin): {"tables": {"Name": {"Column": "type", ...}}, "queries": [{"name": …, "query": …}]}
// Output (stdout): [{"name": …, "errors": ["KS142 …", …]}]
require("@kusto/language-service-next/bridge.js");
require("@kusto/language-service-next/Kusto.Language.Bridge.js");
const K = Kusto.Language;
const S = K.Symbols;

const TYPES = { int: "int", long: "long", bool: "bool", boolean: "bool", dynamic: "dynamic",
  real: "real", double: "real", guid: "guid", datetime: "datetime", timespan: "timespan" };

let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const { tables, queries } = JSON.parse(input);
  const symbols = Object.entries(tables).map(([name, cols]) => {
    const schema = Object.entries(cols)
      .map(([c, t]) => `['${c}']:${TYPES[t] || "string"}`)
      .join(", ");
    return S.TableSymbol.From(`(${schema})`).WithName(name);
  });
  const globals = K.GlobalState.Default.WithDatabase(new S.DatabaseSymbol.ctor("db", symbols));
  const out = queries.map(({ name, query }) => {
    const diagnostics = K.KustoCode.ParseAndAnalyze(query, globals).GetDiagnostics();
    const errors = [];
    for (let i = 0; i < diagnostics.Count; i++) {
      const d = diagnostics.getItem(i);
      if (String(d.Severity) === "Error") errors.push(`${d.Code} ${d.Message}`);
    }
    return { name, errors };
  });
  process.stdout.write(JSON.stringify(out));
});
