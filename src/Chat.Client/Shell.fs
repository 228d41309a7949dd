namespace Chat.Client

open System
open System.IO
open System.Threading
open System.Threading.Tasks
open Chat.Domain

/// A logged-in (or not yet logged-in) session at the console: a reader thread prints what the server sends, the
/// calling thread sends what stdin gives. It ends the process itself, because the thread blocked on stdin cannot
/// be woken when the server closes the connection.
type Shell(conn: TlsConnection, server: string, mode: Render.Mode) =
    /// How long the server gets to answer everything sent before `/quit` and close the connection.
    static let quitWait = TimeSpan.FromSeconds 5.0
    static let interruptWait = TimeSpan.FromSeconds 2.0

    [<VolatileField>]
    let mutable quitSent = false

    [<VolatileField>]
    let mutable outcome = (ExitCode.Failed, "")

    let closed = new ManualResetEventSlim false

    let loginReply =
        TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously)

    let exitLock = obj ()
    let mutable exiting = false

    /// Only the first caller exits; later ones (the other thread racing to the same end) wait to be torn down,
    /// so that one note is printed and the exit code is the first decision's.
    let finish (code: int, note: string) : 'a =
        let first =
            lock exitLock (fun () ->
                let was = exiting
                exiting <- true
                not was)

        if first then
            Console.Out.Flush()

            if note <> "" then
                Console.Error.WriteLine note

            exit code
        else
            Thread.Sleep Timeout.Infinite
            exit code

    let send (line: string) =
        try
            conn.Send line
            true
        with
        | :? IOException
        | :? ObjectDisposedException -> false

    let read () =
        let zone = TimeZoneInfo.Local
        let mutable last = None

        let ending =
            try
                let mutable line = conn.ReadLine()

                while line.IsSome do
                    let raw = line.Value
                    Render.line zone mode raw |> Option.iter Console.Out.WriteLine
                    // After printing, so that whoever acts on the reply does so after the user has seen it.
                    match ServerLine.parse raw with
                    | Some msg ->
                        last <- Some msg

                        match msg with
                        | Ok(LoggedIn _ | Registered _) -> loginReply.TrySetResult true |> ignore
                        | Err _ -> loginReply.TrySetResult false |> ignore
                        | _ -> ()
                    | None -> ()

                    line <- conn.ReadLine()

                ExitCode.Closed
            with
            | :? IOException
            | :? ObjectDisposedException as e -> ExitCode.Lost e.Message

        outcome <- (ExitCode.ofEnding quitSent last ending, ExitCode.note server ending)
        closed.Set()
        finish outcome

    /// Asks the server to end the session and gives it time to send what is still due.
    let quit (wait: TimeSpan) (codeIfNoClose: int) : 'a =
        quitSent <- true
        send "/quit" |> ignore

        if closed.Wait wait then
            finish outcome
        else
            finish (codeIfNoClose, $"{server} did not close the connection within {int wait.TotalSeconds} s")

    /// Sends `login` first (a LOGIN or REGISTER line) when given, and waits for its answer so that nothing typed
    /// ahead is sent on a refused login. Never returns: the process ends with the session.
    member _.Run(login: string option) : 'a =
        let reader = Thread(read, IsBackground = true, Name = "server-reader")
        reader.Start()

        Console.CancelKeyPress.Add(fun e ->
            // Cancelled here so the process lives long enough to say goodbye; Ctrl-C is how a user quits.
            e.Cancel <- true
            quit interruptWait ExitCode.Done)

        match login with
        | Some line ->
            if not (send line) then
                // The reader sees the same broken connection and knows better what happened; let it decide.
                closed.Wait quitWait |> ignore
                finish (ExitCode.Failed, $"connection to {server} lost")
            elif not loginReply.Task.Result then
                finish (ExitCode.LoginRefused, "")
        | None -> ()

        let mutable line = Console.In.ReadLine()

        while not (isNull line) do
            if not (send line) then
                closed.Wait quitWait |> ignore
                finish (ExitCode.Failed, $"connection to {server} lost")

            line <- Console.In.ReadLine()

        quit quitWait ExitCode.Failed
