/// Issue 14's table, filled from this run: each target figure of the previous build and of this
/// one, the target, and whether this build meets it.
module Chat.Bench.IssueTable

open System
open System.Globalization
open Chat.Bench.Report

let private invariant = CultureInfo.InvariantCulture

let private valueOf (r: ScenarioResult) (key: string) : float option =
    match r.Error, r.Metrics |> List.tryFind (fun m -> m.Key = key) with
    | None, Some { Value = Int n } -> Some(float n)
    | None, Some { Value = Num(x, _) } when not (Double.IsNaN x || Double.IsInfinity x) -> Some x
    | _ -> None

let private f (decimals: int) (x: float) =
    x.ToString("N" + string decimals, invariant)

/// One row: the scenario it is read from, how a run's figures show, and whether they meet the target.
type private Row = {
    Scenario: string
    Column: ScenarioResult -> string
    Target: string
    Shown: ScenarioResult -> string option
    Met: ScenarioResult -> bool option
}

let private single scenario column key unit decimals (bound: float) atMost = {
    Scenario = scenario
    Column = fun _ -> column
    Target = (if atMost then "<= " else ">= ") + f decimals bound + " " + unit
    Shown = fun r -> valueOf r key |> Option.map (fun x -> $"{f decimals x} {unit}")
    Met = fun r -> valueOf r key |> Option.map (fun x -> if atMost then x <= bound else x >= bound)
}

let private rows: Row list = [
    single "paced" "server CPU per delivery, paced" "server_cpu_us_per_delivery" "µs" 1 10.0 true
    {
        Scenario = "paced"
        Column = fun _ -> "latency p50 / p99, paced"
        Target = "<= 2.0 / <= 5.0 ms"
        Shown = fun r -> Option.map2 (fun a b -> $"{f 2 a} / {f 2 b} ms") (valueOf r "p50_ms") (valueOf r "p99_ms")
        Met = fun r -> Option.map2 (fun a b -> a <= 2.0 && b <= 5.0) (valueOf r "p50_ms") (valueOf r "p99_ms")
    }
    single "fanout" "server CPU per delivery, flood" "server_cpu_us_per_delivery" "µs" 1 4.0 true
    {
        Scenario = "logins"
        Column =
            fun r ->
                let cost = valueOf r "bcrypt_cost" |> Option.map (f 0) |> Option.defaultValue "?"
                $"logins per second (all cores, bcrypt cost {cost})"
        Target = ">= 0.95 of bcrypt's own rate"
        Shown =
            fun r ->
                match valueOf r "logins_per_s", valueOf r "ratio_to_bound", valueOf r "bcrypt_bound_per_s" with
                | Some l, Some q, Some b ->
                    let perCpu =
                        valueOf r "cpu_ratio"
                        |> Option.map (fun c -> $" (per CPU second {f 2 c})")
                        |> Option.defaultValue ""

                    Some $"{f 1 l}/s = {f 2 q} of {f 1 b}/s{perCpu}"
                | _ -> None
        Met = fun r -> valueOf r "ratio_to_bound" |> Option.map (fun q -> q >= 0.95)
    }
    {
        single "connections" "" "rss_per_conn_kib" "KiB" 1 48.0 true with
            Column =
                fun r ->
                    let n = valueOf r "target" |> Option.map (f 0) |> Option.defaultValue "?"
                    $"RSS per idle logged-in TLS connection ({n})"
    }
]

/// Prints the table when at least one of its scenarios ran; `results` holds this build's run of
/// each scenario and the previous build's, when there was one.
let print (results: (ScenarioResult * ScenarioResult option) list) =
    let find name =
        results |> List.tryFind (fun (r, _) -> r.Name = name)

    let lines = [
        for row in rows do
            match find row.Scenario with
            | None -> ()
            | Some(this, previous) ->
                let cell = row.Shown >> Option.defaultValue "failed"
                let before = previous |> Option.map cell |> Option.defaultValue "-"

                let met =
                    match row.Met this with
                    | Some true -> "met"
                    | Some false -> "not met"
                    | None -> "-"

                $"| {row.Column this} | {before} | {cell this} | {row.Target} | {met} |"
    ]

    if not lines.IsEmpty then
        printfn ""
        printfn "Issue 14's table (Markdown; medians over the rounds; met: this build against the target):"
        printfn ""
        printfn "| column | previous build | this build | target | met |"
        printfn "| --- | ---: | ---: | --- | --- |"
        lines |> List.iter (printfn "%s")
