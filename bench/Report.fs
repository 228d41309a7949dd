/// What the scenarios measured: one table for people, one `RESULT` JSON line for machines.
module Chat.Bench.Report

open System
open System.IO
open System.Text
open System.Text.Json

type Value =
    | Int of int64
    | Num of float * decimals: int
    | Text of string

/// One figure: a JSON key, a label and unit for the table.
type Metric = {
    Key: string
    Label: string
    Value: Value
    Unit: string
}

let count key label unit (v: int64) = {
    Key = key
    Label = label
    Value = Int v
    Unit = unit
}

let num key label unit decimals (v: float) = {
    Key = key
    Label = label
    Value = Num(v, decimals)
    Unit = unit
}

let str key label (v: string) = {
    Key = key
    Label = label
    Value = Text v
    Unit = ""
}

type ScenarioResult = {
    Name: string
    Metrics: Metric list
    /// What the figures mean, or what limited them.
    Notes: string list
    /// Order violated: the run fails.
    Violations: int64
    /// Why the scenario could not finish, when it could not.
    Error: string option
}

let private shown (v: Value) =
    match v with
    | Int n -> n.ToString("N0", Globalization.CultureInfo.InvariantCulture)
    | Num(x, _) when Double.IsNaN x -> "-"
    | Num(x, d) -> x.ToString("N" + string d, Globalization.CultureInfo.InvariantCulture)
    | Text s -> s

let printTable (results: ScenarioResult list) =
    let rows = [
        for r in results do
            for m in r.Metrics do
                r.Name, m.Label, shown m.Value, m.Unit

            match r.Error with
            | Some e -> r.Name, "FAILED", e, ""
            | None -> ()
    ]

    let width f =
        rows |> List.map (f >> String.length) |> List.fold max 0

    let w1 = max 8 (width (fun (a, _, _, _) -> a))
    let w2 = width (fun (_, b, _, _) -> b)
    let w3 = width (fun (_, _, c, _) -> c)
    printfn ""

    if rows.IsEmpty then
        printfn "(no results)"
    else
        printfn "%s  %s  %s  %s" ("scenario".PadRight w1) ("metric".PadRight w2) ("value".PadLeft w3) "unit"
        printfn "%s" (String('-', w1 + w2 + w3 + 12))
        let mutable last = ""

        for name, label, value, unit in rows do
            let shownName = if name = last then "" else name
            last <- name
            printfn "%s  %s  %s  %s" (shownName.PadRight w1) (label.PadRight w2) (value.PadLeft w3) unit

    for r in results do
        for note in r.Notes do
            printfn "  [%s] %s" r.Name note

/// `RESULT {...}`: every figure of every scenario, keyed by scenario then metric.
let resultLine (config: (string * Value) list) (results: ScenarioResult list) : string =
    use stream = new MemoryStream()

    do
        use w = new Utf8JsonWriter(stream)

        let write (key: string) (v: Value) =
            match v with
            | Int n -> w.WriteNumber(key, n)
            | Num(x, _) when Double.IsNaN x || Double.IsInfinity x -> w.WriteNull key
            | Num(x, d) -> w.WriteNumber(key, Math.Round(x, max d 3))
            | Text s -> w.WriteString(key, s)

        w.WriteStartObject()
        w.WriteStartObject "config"

        for k, v in config do
            write k v

        w.WriteEndObject()

        for r in results do
            w.WriteStartObject r.Name

            for m in r.Metrics do
                write m.Key m.Value

            match r.Error with
            | Some e -> w.WriteString("error", e)
            | None -> w.WriteNull "error"

            w.WriteEndObject()

        w.WriteEndObject()

    "RESULT " + Encoding.UTF8.GetString(stream.ToArray())
