/// What the scenarios measured: one table for people, one `RESULT` JSON line for machines; with a
/// previous build (`--baseline`), both side by side with their ratio.
module Chat.Bench.Report

open System
open System.Globalization
open System.IO
open System.Text
open System.Text.Json

type Value =
    | Int of int64
    | Num of float * decimals: int
    | Text of string

/// Which way a figure improves: what "better" and "worse" mean beside two builds' figures.
type Better =
    | Higher
    | Lower
    | Either

/// One figure: a JSON key, a label and unit for the table.
type Metric = {
    Key: string
    Label: string
    Value: Value
    Unit: string
    Better: Better
}

let count key label unit (v: int64) = {
    Key = key
    Label = label
    Value = Int v
    Unit = unit
    Better = Either
}

let num key label unit decimals (v: float) = {
    Key = key
    Label = label
    Value = Num(v, decimals)
    Unit = unit
    Better = Either
}

let str key label (v: string) = {
    Key = key
    Label = label
    Value = Text v
    Unit = ""
    Better = Either
}

/// The figure is better when it is higher.
let higher (m: Metric) = { m with Better = Higher }

/// The figure is better when it is lower.
let lower (m: Metric) = { m with Better = Lower }

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

let private invariant = CultureInfo.InvariantCulture

let private shown (v: Value) =
    match v with
    | Int n -> n.ToString("N0", invariant)
    | Num(x, _) when Double.IsNaN x -> "-"
    | Num(x, d) -> x.ToString("N" + string d, invariant)
    | Text s -> s

let private number (v: Value) =
    match v with
    | Int n -> Some(float n)
    | Num(x, _) when not (Double.IsNaN x || Double.IsInfinity x) -> Some x
    | _ -> None

let private middle (xs: float list) =
    let a = xs |> List.sort |> Array.ofList

    if a.Length % 2 = 1 then
        a[a.Length / 2]
    else
        (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2.0

/// Several runs of one scenario as one: the median of each figure (text from the first run that
/// has it), violations summed, every run's notes once, the first error.
let median (runs: ScenarioResult list) : ScenarioResult =
    match runs with
    | [] -> invalidArg (nameof runs) "no runs"
    | [ one ] -> one
    | first :: _ ->
        let valuesOf key =
            runs |> List.choose (fun r -> r.Metrics |> List.tryFind (fun m -> m.Key = key))

        let combine (m: Metric) =
            let numbers = valuesOf m.Key |> List.choose (fun x -> number x.Value)

            let value =
                match m.Value with
                | Int _ when not numbers.IsEmpty -> Int(int64 (Math.Round(middle numbers)))
                | Num(_, d) when not numbers.IsEmpty -> Num(middle numbers, d)
                | v -> v

            { m with Value = value }

        let keys = runs |> List.collect (fun r -> r.Metrics) |> List.distinctBy _.Key

        {
            Name = first.Name
            Metrics = keys |> List.map combine
            Notes = runs |> List.collect _.Notes |> List.distinct
            Violations = runs |> List.sumBy _.Violations
            Error = runs |> List.tryPick _.Error
        }

type private Align =
    | Left
    | Right

/// Columns padded to their widest cell; the first column shown only where it changes.
let private printRows (columns: (string * Align) list) (rows: string list list) =
    let widths =
        columns
        |> List.mapi (fun i (title, _) -> rows |> List.map (fun r -> r[i].Length) |> List.fold max title.Length)

    let line (cells: string list) =
        List.zip3 cells widths (List.map snd columns)
        |> List.map (fun (c, w, a) -> if a = Left then c.PadRight w else c.PadLeft w)
        |> String.concat "  "
        |> _.TrimEnd()

    printfn ""

    if rows.IsEmpty then
        printfn "(no results)"
    else
        printfn "%s" (line (List.map fst columns))
        printfn "%s" (String('-', List.sum widths + 2 * (widths.Length - 1)))
        let mutable last = ""

        for r in rows do
            let name = if r.Head = last then "" else r.Head
            last <- r.Head
            printfn "%s" (line (name :: r.Tail))

let printTable (results: ScenarioResult list) =
    let rows = [
        for r in results do
            for m in r.Metrics do
                [ r.Name; m.Label; shown m.Value; m.Unit ]

            match r.Error with
            | Some e -> [ r.Name; "FAILED"; e; "" ]
            | None -> ()
    ]

    printRows [ "scenario", Left; "metric", Left; "value", Right; "unit", Left ] rows

    for r in results do
        for note in r.Notes do
            printfn "  [%s] %s" r.Name note

/// this / previous, when both are numbers and the previous one is not 0.
let private ratio (a: Value) (b: Value) =
    match number a, number b with
    | Some x, Some y when y <> 0.0 -> Some(x / y)
    | _ -> None

/// Whether this build's figure is better, worse or the same as the previous build's.
let private verdict (m: Metric) (previous: Value) =
    match m.Better, number m.Value, number previous with
    | Either, _, _
    | _, None, _
    | _, _, None -> ""
    | _ when shown m.Value = shown previous -> "same"
    | Higher, Some a, Some b
    | Lower, Some b, Some a -> if a > b then "better" else "worse"

/// Both builds' figures per scenario, side by side: this build, the previous one, their ratio.
let printComparison (pairs: (ScenarioResult * ScenarioResult) list) =
    let rows = [
        for this, previous in pairs do
            let keys = this.Metrics @ previous.Metrics |> List.distinctBy _.Key

            for m in keys do
                let a = this.Metrics |> List.tryFind (fun x -> x.Key = m.Key)
                let b = previous.Metrics |> List.tryFind (fun x -> x.Key = m.Key)
                let cell = Option.map (fun (x: Metric) -> shown x.Value) >> Option.defaultValue ""

                let r, v =
                    match a, b with
                    | Some a, Some b ->
                        (ratio a.Value b.Value
                         |> Option.map (fun r -> r.ToString("N2", invariant))
                         |> Option.defaultValue ""),
                        verdict a b.Value
                    | _ -> "", ""

                [ this.Name; m.Label; cell a; cell b; r; v; m.Unit ]

            for who, (r: ScenarioResult) in [ "this build", this; "previous build", previous ] do
                match r.Error with
                | Some e -> [ this.Name; $"FAILED ({who})"; e; ""; ""; ""; "" ]
                | None -> ()
    ]

    printRows
        [
            "scenario", Left
            "metric", Left
            "this build", Right
            "previous", Right
            "this/prev", Right
            "", Left
            "unit", Left
        ]
        rows

    printfn
        "  this/prev: this build's figure over the previous build's; better or worse by which way the figure improves"

    for this, previous in pairs do
        for note in this.Notes do
            printfn "  [%s] %s" this.Name note

        for note in previous.Notes |> List.except this.Notes do
            printfn "  [%s, previous build] %s" previous.Name note

/// The headline figures of both builds as one Markdown table (previous build first), for notes
/// and issues: `headline` names the metric keys to show per scenario. Each pair holds every run of
/// the scenario against this build and against the previous one; a cell is the median, and with
/// more than one run also the lowest and highest figure.
let printSummary (headline: (string * string list) list) (pairs: (ScenarioResult list * ScenarioResult list) list) =
    let figure (runs: ScenarioResult list) (key: string) =
        let all =
            runs |> List.choose (fun r -> r.Metrics |> List.tryFind (fun m -> m.Key = key))

        (median runs).Metrics
        |> List.tryFind (fun m -> m.Key = key)
        |> Option.map (fun m ->
            let unit = if m.Unit = "" then "" else " " + m.Unit

            let range =
                match all |> List.choose (fun x -> number x.Value) with
                | values when values.Length > 1 && List.min values <> List.max values ->
                    let at x =
                        match m.Value with
                        | Int _ -> Int(int64 x)
                        | Num(_, d) -> Num(x, d)
                        | v -> v

                    $" ({shown (at (List.min values))}-{shown (at (List.max values))})"
                | _ -> ""

            m, $"{shown m.Value}{unit}{range}")

    printfn ""
    printfn "Summary (Markdown; median, and lowest-highest over the rounds when there were several):"
    printfn ""
    printfn "| scenario | figure | previous build | this build | this/prev | |"
    printfn "| --- | --- | ---: | ---: | ---: | --- |"

    for thisRuns, previousRuns in pairs do
        let name = (List.head thisRuns).Name

        let keys =
            headline
            |> List.tryFind (fun (n, _) -> n = name)
            |> Option.map snd
            |> Option.defaultValue []

        for key in keys do
            match figure thisRuns key, figure previousRuns key with
            | Some(a, thisCell), Some(b, previousCell) ->
                let r =
                    ratio a.Value b.Value
                    |> Option.map (fun r -> r.ToString("N2", invariant))
                    |> Option.defaultValue "-"

                printfn "| %s | %s | %s | %s | %s | %s |" name a.Label previousCell thisCell r (verdict a b.Value)
            | _ -> ()

        for who, runs in [ "this build", thisRuns; "previous build", previousRuns ] do
            match runs |> List.tryPick _.Error with
            | Some e -> printfn "| %s | FAILED (%s) | | | | %s |" name who e
            | None -> ()

let private writeValue (w: Utf8JsonWriter) (key: string) (v: Value) =
    match v with
    | Int n -> w.WriteNumber(key, n)
    | Num(x, _) when Double.IsNaN x || Double.IsInfinity x -> w.WriteNull key
    | Num(x, d) -> w.WriteNumber(key, Math.Round(x, max d 3))
    | Text s -> w.WriteString(key, s)

let private writeScenario (w: Utf8JsonWriter) (r: ScenarioResult) =
    w.WriteStartObject r.Name

    for m in r.Metrics do
        writeValue w m.Key m.Value

    match r.Error with
    | Some e -> w.WriteString("error", e)
    | None -> w.WriteNull "error"

    w.WriteEndObject()

/// `RESULT {...}`: every figure of every scenario, keyed by scenario then metric. With a previous
/// build, its figures under `previous` and this/previous under `ratio`, keyed the same way.
let resultLine
    (config: (string * Value) list)
    (results: ScenarioResult list)
    (previous: ScenarioResult list option)
    : string =
    use stream = new MemoryStream()

    do
        use w = new Utf8JsonWriter(stream)
        w.WriteStartObject()
        w.WriteStartObject "config"

        for k, v in config do
            writeValue w k v

        w.WriteEndObject()

        for r in results do
            writeScenario w r

        match previous with
        | None -> ()
        | Some before ->
            w.WriteStartObject "previous"

            for r in before do
                writeScenario w r

            w.WriteEndObject()
            w.WriteStartObject "ratio"

            for this in results do
                match before |> List.tryFind (fun p -> p.Name = this.Name) with
                | None -> ()
                | Some prev ->
                    w.WriteStartObject this.Name

                    for m in this.Metrics do
                        match prev.Metrics |> List.tryFind (fun x -> x.Key = m.Key) with
                        | Some p when (number m.Value).IsSome ->
                            match ratio m.Value p.Value with
                            | Some r -> w.WriteNumber(m.Key, Math.Round(r, 4))
                            | None -> w.WriteNull m.Key
                        | _ -> ()

                    w.WriteEndObject()

            w.WriteEndObject()

        w.WriteEndObject()

    "RESULT " + Encoding.UTF8.GetString(stream.ToArray())
