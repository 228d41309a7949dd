/// The latency samples of a run as a picture: one CDF panel per scenario (and per same- or
/// cross-instance delivery), one trace per build, in an HTML file a browser opens offline.
module Chat.Bench.Chart

open System
open System.Diagnostics
open System.IO
open Plotly.NET

/// Latency samples (Stopwatch ticks) by panel and build, gathered over every round of a run.
type LatencyCurves() =
    let samples = Collections.Generic.List<string * string * int64 array>()

    /// Adds the samples of one run: `panel` names the scenario (and kind of delivery), `build` is
    /// "this", "previous" or "" when only one build runs.
    member _.Add(panel: string, build: string, ticks: int64 array) =
        lock samples (fun () -> samples.Add((panel, build, ticks)))

    /// Each panel with its builds' samples merged over the rounds and sorted, in order of first
    /// appearance.
    member _.Panels: (string * (string * int64 array) list) list =
        lock samples (fun () -> List.ofSeq samples)
        |> List.groupBy (fun (panel, _, _) -> panel)
        |> List.map (fun (panel, runs) ->
            panel,
            runs
            |> List.groupBy (fun (_, build, _) -> build)
            |> List.map (fun (build, rs) ->
                let all = rs |> Array.ofList |> Array.collect (fun (_, _, t) -> t)
                Array.sortInPlace all
                build, all))

/// Where the CDF is drawn: every 0.2 % and more closely in the tail, up to the largest sample.
let private probabilities =
    [ for i in 0..500 -> float i / 500.0 ]
    @ [ 0.995; 0.998; 0.999; 0.9995; 0.9999; 1.0 ]
    |> List.distinct
    |> List.sort

let private ms (ticks: int64) =
    float ticks * 1000.0 / float Stopwatch.Frequency

/// The points (latency in ms, fraction of deliveries at or below it) of sorted samples.
let cdf (sorted: int64 array) : (float * float) list =
    if sorted.Length = 0 then
        []
    else
        probabilities
        |> List.map (fun p ->
            let i = max 0 (min (sorted.Length - 1) (int (ceil (p * float sorted.Length)) - 1))
            ms sorted[i], p)

let private buildName (build: string) =
    match build with
    | "" -> "this build"
    | b -> $"{b} build"

let private colour (build: string) =
    if build = "previous" then
        Color.fromHex "#d62728"
    else
        Color.fromHex "#1f77b4"

let private panel (title: string) (builds: (string * int64 array) list) =
    builds
    |> List.map (fun (build, sorted) ->
        let points = cdf sorted

        Chart.Line(
            x = List.map fst points,
            y = List.map snd points,
            Name = $"{title}: {buildName build} ({sorted.Length:N0} samples)",
            ShowMarkers = false,
            LineColor = colour build
        ))
    |> Chart.combine
    |> Chart.withXAxisStyle (TitleText = "latency (ms, log scale)", AxisType = StyleParam.AxisType.Log)
    |> Chart.withYAxisStyle (TitleText = "fraction of deliveries at or below", MinMax = (0.0, 1.0))

/// Writes the chart of `curves` to `path` (its folder made when missing), plotly.js inlined so that
/// the file opens without a network; false when there was nothing to draw.
let write (path: string) (title: string) (curves: LatencyCurves) : bool =
    match
        curves.Panels
        |> List.filter (fun (_, builds) -> builds |> List.exists (snd >> Array.isEmpty >> not))
    with
    | [] -> false
    | panels ->
        let columns = if panels.Length = 1 then 1 else 2
        let rows = (panels.Length + columns - 1) / columns
        Directory.CreateDirectory(Path.GetDirectoryName path) |> ignore

        panels
        |> List.map (fun (name, builds) -> panel name builds)
        |> Chart.Grid(rows, columns, SubPlotTitles = List.map fst panels)
        |> Chart.withTitle title
        |> Chart.withSize (1400, 480 * rows)
        |> Chart.withDisplayOptionsStyle (DocumentTitle = title, PlotlyJSReference = PlotlyJSReference.Full)
        |> Chart.saveHtml (path, OpenInBrowser = false)

        true
