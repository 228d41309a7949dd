namespace Chat.Server.Tests

open System
open System.Diagnostics
open System.IO
open System.Security.Cryptography
open System.Security.Cryptography.X509Certificates
open System.Text.RegularExpressions
open Expecto
open Chat.Testing

/// How a run of the CLI client ended.
type ClientRun = {
    Code: int
    StdOut: string list
    StdErr: string list
} with

    member r.Shown =
        let lines prefix (ls: string list) =
            ls |> List.map (fun l -> $"  [{prefix}] {l}") |> String.concat "\n"

        let out = lines "out" r.StdOut
        let err = lines "err" r.StdErr
        $"exit code {r.Code}\n{out}\n{err}"

/// The CLI client built from src/Chat.Client (this project references it, so it is built first), run
/// as `dotnet chat.dll` (Paths.clientDll).
module ChatClient =
    let private splitLines (s: string) =
        s.Split('\n')
        |> Array.map (fun l -> l.TrimEnd '\r')
        |> Array.filter ((<>) "")
        |> List.ofArray

    /// Runs the client with `args` and `env` (and no other CHAT_* variable), `stdin` piped in, and
    /// waits for it to exit (failing after `timeout`).
    let run (args: string list) (env: (string * string) list) (stdin: string) (timeout: TimeSpan) : ClientRun =
        let psi = ProcessStartInfo(Paths.dotnetHost.Value)
        psi.ArgumentList.Add Paths.clientDll.Value

        for a in args do
            psi.ArgumentList.Add a

        psi.UseShellExecute <- false
        psi.RedirectStandardInput <- true
        psi.RedirectStandardOutput <- true
        psi.RedirectStandardError <- true
        // Not where a server keeps certs/server.crt: the client's hint must not depend on the test's directory.
        psi.WorkingDirectory <- Path.GetTempPath()

        for key in List.ofSeq psi.Environment.Keys do
            if key.StartsWith("CHAT_", StringComparison.Ordinal) then
                psi.Environment.Remove key |> ignore

        for k, v in env do
            psi.Environment[k] <- v

        use proc = Process.Start psi
        let out = proc.StandardOutput.ReadToEndAsync()
        let err = proc.StandardError.ReadToEndAsync()

        try
            proc.StandardInput.Write stdin
            proc.StandardInput.Close()
        with :? IOException ->
            () // it exited before reading its input (a refused certificate)

        if not (proc.WaitForExit(int timeout.TotalMilliseconds)) then
            proc.Kill true
            proc.WaitForExit()
            failtest $"the client still ran after {timeout.TotalSeconds} s\n{out.Result}\n{err.Result}"

        proc.WaitForExit()

        {
            Code = proc.ExitCode
            StdOut = splitLines out.Result
            StdErr = splitLines err.Result
        }

/// The CLI client end to end, against a server process: login, commands piped on stdin, raw output
/// (stdout is not a terminal), exit codes, certificate checks.
module E2eClient =
    let private timeout = TimeSpan.FromSeconds 30.0

    let private run (this: ServerFixture) (args: string list, password: string, stdin: string) =
        let server = [ "--port"; string this.Server.Port ]
        let r = ChatClient.run (server @ args) [ "CHAT_PASSWORD", password ] stdin timeout
        printfn "%s" r.Shown
        r

    [<Tests>]
    let tests =
        ServerSuite.tests "E2eClient" [ "--demo-users" ] [
            case "--ca and --user: logs in, sends the piped lines, prints the replies raw, exits 0 at end of input"
            <| fun (this: ServerFixture) ->
                let r =
                    run
                        this
                        ([ "--ca"; this.Server.CertFile; "--user"; "alice" ], "password123", "/join dev\nhello\n/who\n")

                Expect.equal r.Code 0 r.Shown
                Expect.contains r.StdOut "OK LOGIN alice lobby" r.Shown
                Expect.contains r.StdOut "OK JOIN dev" r.Shown
                let msg = Regex @"^MSG dev \S+ alice hello$"
                Expect.hasLength (r.StdOut |> List.filter msg.IsMatch) 1 r.Shown
                Expect.contains r.StdOut "OK WHO dev alice" r.Shown
                Expect.equal (List.last r.StdOut) "OK QUIT" r.Shown
                // Raw mode prints the server's lines as they came, in order.
                Expect.stringStarts (List.head r.StdOut) "HELLO chat/1 " r.Shown

                let order =
                    [ "OK LOGIN "; "OK JOIN "; "MSG "; "OK WHO "; "OK QUIT" ]
                    |> List.map (fun p -> r.StdOut |> List.findIndex (fun l -> l.StartsWith p))

                Expect.isAscending order r.Shown

            case "--pin with the server's fingerprint (lower case, no colons) is accepted"
            <| fun (this: ServerFixture) ->
                let der =
                    X509Certificate2.CreateFromPem(File.ReadAllText this.Server.CertFile).RawData

                let pin = (SHA256.HashData der |> Convert.ToHexString).ToLowerInvariant()
                let r = run this ([ "--pin"; pin; "--user"; "bob" ], "secret456", "/ping pinned\n")
                Expect.equal r.Code 0 r.Shown
                Expect.contains r.StdOut "OK LOGIN bob lobby" r.Shown
                Expect.contains r.StdOut "OK PONG pinned" r.Shown

            case "a wrong --pin exits 1, names --pin, and sends nothing"
            <| fun (this: ServerFixture) ->
                let wrong = String.replicate 32 "AB:" |> fun s -> s.TrimEnd ':'

                let r =
                    run this ([ "--pin"; wrong; "--user"; "alice" ], "password123", "should not be sent\n")

                Expect.equal r.Code 1 r.Shown
                Expect.stringContains (r.StdErr |> String.concat "\n") "--pin" r.Shown
                Expect.isEmpty r.StdOut r.Shown

            case "a wrong password exits 4, and nothing typed ahead is sent"
            <| fun (this: ServerFixture) ->
                let r =
                    run
                        this
                        ([ "--ca"; this.Server.CertFile; "--user"; "charlie" ], "not-his-password", "/who\nhello\n")

                Expect.equal r.Code 4 r.Shown
                Expect.hasLength (r.StdOut |> List.filter (fun l -> l.StartsWith "ERR ")) 1 r.Shown
                Expect.isTrue (r.StdOut |> List.exists (fun l -> l.StartsWith "ERR AUTH_FAILED ")) r.Shown
                Expect.isFalse (r.StdOut |> List.exists (fun l -> l.StartsWith "OK WHO" || l.StartsWith "MSG ")) r.Shown
        ]
