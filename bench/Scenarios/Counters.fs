/// What the scale scenarios read off the servers and Redis: an instance's `/metrics` and a Redis
/// node's `INFO`, as numbers by name.
module Chat.Bench.Scenarios.Counters

open System
open System.Globalization
open System.Net.Http
open System.Threading.Tasks

let private http = new HttpClient(Timeout = TimeSpan.FromSeconds 10.0)

/// The unlabelled samples of Prometheus' text format, by name.
let parseMetrics (text: string) : Map<string, float> =
    text.Split '\n'
    |> Array.choose (fun line ->
        match line.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries) with
        | [| name; v |] when not (name.StartsWith "#" || name.Contains "{") ->
            match Double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture) with
            | true, x -> Some(name, x)
            | _ -> None
        | _ -> None)
    |> Map.ofArray

/// An instance's `/metrics`, served on 127.0.0.1:`port`.
let scrape (port: int) : Task<Map<string, float>> =
    task {
        let! text = http.GetStringAsync $"http://127.0.0.1:{port}/metrics"
        return parseMetrics text
    }

/// The `key:value` lines of an `INFO` reply.
let parseInfo (text: string) : Map<string, string> =
    text.Split '\n'
    |> Array.choose (fun line ->
        match line.Trim().Split(':', 2) with
        | [| key; v |] when not (key.StartsWith "#") -> Some(key, v)
        | _ -> None)
    |> Map.ofArray

/// `INFO commandstats`' calls of each command (`cmdstat_<name>:calls=<n>,...`), by name.
let commandCalls (info: Map<string, string>) : Map<string, int64> =
    info
    |> Seq.choose (fun kv ->
        if kv.Key.StartsWith "cmdstat_" then
            kv.Value.Split ','
            |> Array.tryPick (fun field ->
                if field.StartsWith "calls=" then
                    Some(kv.Key.Substring "cmdstat_".Length, Int64.Parse(field.Substring "calls=".Length))
                else
                    None)
        else
            None)
    |> Map.ofSeq

/// The figure `key` of `values`, 0 where it is missing.
let valueOf (key: string) (values: Map<string, 'a>) (zero: 'a) =
    values |> Map.tryFind key |> Option.defaultValue zero
