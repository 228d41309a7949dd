namespace Chat.Server

open System
open System.IO
open System.Net
open System.Text
open System.Threading.Tasks

/// Whether this instance takes logins: listening, not shutting down, and its shared state
/// reachable (`sharedState` is None then, else why not). What `/healthz` answers.
type Health(sharedState: unit -> string option) =
    // 0 starting, 1 listening, 2 shutting down.
    [<VolatileField>]
    let mutable phase = 0

    member _.Listening() = phase <- 1
    member _.ShuttingDown() = phase <- 2

    /// Ok, or the reason logins would fail now.
    member _.Check() : Result<unit, string> =
        match phase with
        | 0 -> Error "starting"
        | 2 -> Error "shutting down"
        | _ ->
            match sharedState () with
            | Some reason -> Error reason
            | None -> Ok()

/// The operator's HTTP endpoint (`--metrics`): `GET /metrics` is the registry in Prometheus'
/// text format, `GET /healthz` is 200 `ok` or 503 with the reason; anything else is 404.
/// Requests are served on the pool, asynchronously; a scrape reads a few counters and locks.
type OperatorEndpoint(endpoint: IPEndPoint, metrics: ServerMetrics, health: Health, log: Log) =
    let http = new HttpListener()

    [<VolatileField>]
    let mutable stopped = false

    let prefix =
        let host =
            if
                endpoint.Address.Equals IPAddress.Any
                || endpoint.Address.Equals IPAddress.IPv6Any
            then
                "+"
            elif endpoint.Address.AddressFamily = Sockets.AddressFamily.InterNetworkV6 then
                $"[{endpoint.Address}]"
            else
                string endpoint.Address

        $"http://{host}:{endpoint.Port}/"

    do http.Prefixes.Add prefix

    let respond (response: HttpListenerResponse) (status: int) (contentType: string) (body: byte array) =
        task {
            response.StatusCode <- status
            response.ContentType <- contentType
            response.ContentLength64 <- int64 body.Length
            do! response.OutputStream.WriteAsync(body, 0, body.Length)
            response.Close()
        }

    let text (s: string) = Encoding.UTF8.GetBytes(s + "\n")

    let serve (context: HttpListenerContext) : Task =
        task {
            try
                let response = context.Response

                match context.Request.HttpMethod, context.Request.Url.AbsolutePath with
                | ("GET" | "HEAD"), "/metrics" ->
                    use buffer = new MemoryStream()
                    do! metrics.Registry.CollectAndExportAsTextAsync buffer
                    do! respond response 200 "text/plain; version=0.0.4; charset=utf-8" (buffer.ToArray())
                | ("GET" | "HEAD"), "/healthz" ->
                    match health.Check() with
                    | Ok() -> do! respond response 200 "text/plain; charset=utf-8" (text "ok")
                    | Error reason -> do! respond response 503 "text/plain; charset=utf-8" (text reason)
                | _ -> do! respond response 404 "text/plain; charset=utf-8" (text "not found: /metrics or /healthz")
            with e ->
                // A client gone mid-answer, or a failed scrape: this request only.
                log.Debug("metrics request failed", [ "reason", box e.Message ])
                context.Response.Abort()
        }

    let accept () =
        task {
            let mutable go = true

            while go do
                try
                    let! context = http.GetContextAsync()
                    serve context |> ignore
                with
                | :? HttpListenerException
                | :? ObjectDisposedException
                | :? InvalidOperationException when stopped -> go <- false
                | e -> log.Warn("metrics endpoint accept failed", [ "reason", box e.Message ])
        }

    /// `http://address:port/`, as it listens.
    member _.Prefix = prefix

    /// Listens; raises HttpListenerException when the address cannot be had.
    member _.Start() =
        http.Start()
        accept () |> ignore

    interface IDisposable with
        member _.Dispose() =
            stopped <- true

            if http.IsListening then
                http.Stop()

            http.Close()
