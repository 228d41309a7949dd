namespace Chat.Server.Tests

open System
open System.Globalization
open System.Net.Http
open System.Text

/// One sample of a scrape: `name{label="value",...} value`.
type Sample = {
    Name: string
    Labels: Map<string, string>
    Value: float
}

/// Prometheus' text exposition format (version 0.0.4), read strictly: every line is a comment
/// (`# HELP`, `# TYPE`, or other), blank, or a sample whose metric has a `# TYPE` line before it;
/// anything else fails the parse, naming the line.
module PrometheusText =
    let private fail (line: string) why =
        failwith $"not Prometheus text ({why}): {line}"

    let private isNameChar first (c: char) =
        Char.IsAsciiLetter c || c = '_' || c = ':' || (not first && Char.IsAsciiDigit c)

    let private validName (s: string) =
        s.Length > 0 && isNameChar true s[0] && s |> Seq.forall (isNameChar false)

    /// `{a="x",b="y\"z"}` from `at` (the `{`): the labels and the index after `}`.
    let private labels (line: string) (at: int) =
        let mutable i = at + 1
        let mutable result = Map.empty

        while line[i] <> '}' do
            let eq = line.IndexOf('=', i)

            if eq < 0 then
                fail line "a label without ="

            let name = line.Substring(i, eq - i)

            if not (validName name) || line[eq + 1] <> '"' then
                fail line $"label {name}"

            let value = StringBuilder()
            let mutable j = eq + 2

            while line[j] <> '"' do
                if line[j] = '\\' then
                    j <- j + 1

                    value.Append(
                        match line[j] with
                        | 'n' -> '\n'
                        | c -> c
                    )
                    |> ignore
                else
                    value.Append line[j] |> ignore

                j <- j + 1

            result <- result.Add(name, value.ToString())
            i <- j + 1

            if line[i] = ',' then
                i <- i + 1

        result, i + 1

    let private number (line: string) (s: string) =
        match s with
        | "+Inf" -> Double.PositiveInfinity
        | "-Inf" -> Double.NegativeInfinity
        | "NaN" -> Double.NaN
        | s ->
            match Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture) with
            | true, v -> v
            | _ -> fail line "a value that is not a number"

    /// The samples of a scrape, in order.
    let parse (text: string) : Sample list =
        let typed = Collections.Generic.HashSet<string>()

        [
            for line in text.Split '\n' do
                if line.StartsWith "# TYPE " then
                    match line.Split ' ' with
                    | [| _; _; name; ("counter" | "gauge" | "histogram" | "summary" | "untyped") |] when validName name ->
                        typed.Add name |> ignore
                    | _ -> fail line "a TYPE line"
                elif line.StartsWith "#" || line.Trim() = "" then
                    ()
                else
                    let nameEnd = line.IndexOfAny [| '{'; ' ' |]

                    if nameEnd <= 0 then
                        fail line "no metric name"

                    let name = line.Substring(0, nameEnd)

                    let labels, rest =
                        if line[nameEnd] = '{' then
                            labels line nameEnd
                        else
                            Map.empty, nameEnd

                    // The family a sample belongs to: histograms add _bucket, _sum and _count.
                    let family =
                        [ "_bucket"; "_sum"; "_count" ]
                        |> List.tryFind (fun s ->
                            name.EndsWith s && typed.Contains(name.Substring(0, name.Length - s.Length)))
                        |> Option.map (fun s -> name.Substring(0, name.Length - s.Length))
                        |> Option.defaultValue name

                    if not (validName name) || not (typed.Contains family) then
                        fail line "a sample without a TYPE line before it"

                    // The value, and an optional timestamp after it.
                    match line.Substring(rest).Trim().Split ' ' with
                    | [| v |]
                    | [| v; _ |] -> {
                        Name = name
                        Labels = labels
                        Value = number line v
                      }
                    | _ -> fail line "no value"
        ]

    /// The value of the sample with this name and exactly these labels; 0 when there is none
    /// (a counter not yet published has counted nothing).
    let value (samples: Sample list) (name: string) (labels: (string * string) list) =
        let wanted = Map.ofList labels

        samples
        |> List.tryFind (fun s -> s.Name = name && s.Labels = wanted)
        |> Option.map _.Value
        |> Option.defaultValue 0.0

    /// Whether any sample has this name.
    let has (samples: Sample list) (name: string) =
        samples |> List.exists (fun s -> s.Name = name)

/// The operator's HTTP endpoint of a server under test.
module Scrape =
    let private http = new HttpClient(Timeout = TimeSpan.FromSeconds 10.0)

    /// GET `http://127.0.0.1:<port><path>`: the status code and the body.
    let get (port: int) (path: string) : int * string =
        use response = http.GetAsync($"http://127.0.0.1:{port}{path}").Result
        int response.StatusCode, response.Content.ReadAsStringAsync().Result

    /// The samples of `/metrics`, which must answer 200 in Prometheus' text format.
    let metrics (port: int) : Sample list =
        use response = http.GetAsync($"http://127.0.0.1:{port}/metrics").Result
        let body = response.Content.ReadAsStringAsync().Result

        if int response.StatusCode <> 200 then
            failwith $"/metrics answered {int response.StatusCode}: {body}"

        let contentType = string response.Content.Headers.ContentType

        if not (contentType.StartsWith "text/plain" && contentType.Contains "version=0.0.4") then
            failwith $"/metrics has the content type {contentType}"

        PrometheusText.parse body
