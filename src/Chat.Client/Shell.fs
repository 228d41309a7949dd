namespace Chat.Client

open System
open Chat.Domain

/// The session at the console, line by line: server lines printed on stdout (as `mode` says), status lines on
/// stderr, the lines of stdin sent. What scripts and the tests drive.
type Shell
    (
        conn: TlsConnection,
        server: string,
        mode: Render.Mode,
        user: Username option,
        relogin: string option,
        redial: Redial option
    ) =
    static let zone = TimeZoneInfo.Local

    static let note (text: string) =
        Console.Out.Flush()
        Console.Error.WriteLine text

    let sink = {
        Show = fun raw -> Render.line zone mode raw |> Option.iter Console.Out.WriteLine
        Note = note
        Ready = ignore
        Retrying = fun reason wait attempt -> note (Disconnect.retrying reason wait attempt)
        Finish =
            fun code text ->
                Console.Out.Flush()

                if text <> "" then
                    Console.Error.WriteLine text

                exit code
    }

    let session = Session(conn, server, sink, user, relogin, redial)

    /// Sends `login` first when given (see Session.Start), then each line of stdin; end of input is /quit. Never
    /// returns: the process ends with the session.
    member _.Run(login: string option) : 'a =
        Console.CancelKeyPress.Add(fun e ->
            // Cancelled here so the process lives long enough to say goodbye; Ctrl-C is how a user quits.
            e.Cancel <- true
            session.Quit(Session.InterruptWait, ExitCode.Done))

        session.Start login
        let mutable line = Console.In.ReadLine()

        while not (isNull line) do
            session.Send line
            line <- Console.In.ReadLine()

        session.Quit(Session.QuitWait, ExitCode.Failed)
