namespace Chat.Server.Tests

open System
open System.Diagnostics
open System.IO
open System.Reflection
open System.Security.Cryptography
open System.Security.Cryptography.X509Certificates
open System.Text.RegularExpressions
open NUnit.Framework

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
/// as `dotnet chat.dll`.
module ChatClient =
    let private configuration =
        match typeof<ClientRun>.Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>() with
        | null -> "Debug"
        | a -> a.Configuration

    let dll =
        lazy
            (let rec up (dir: DirectoryInfo) =
                if isNull dir then
                    failwith
                        $"chat.dll not found under src/Chat.Client/bin/{configuration}/net10.0 above {AppContext.BaseDirectory}"
                else
                    let candidate =
                        Path.Combine(dir.FullName, "src", "Chat.Client", "bin", configuration, "net10.0", "chat.dll")

                    if File.Exists candidate then candidate else up dir.Parent

             up (DirectoryInfo AppContext.BaseDirectory))

    let private dotnetHost =
        match Environment.GetEnvironmentVariable "DOTNET_HOST_PATH" with
        | p when not (String.IsNullOrEmpty p) && File.Exists p -> p
        | _ ->
            match Environment.ProcessPath with
            | p when not (isNull p) && Path.GetFileNameWithoutExtension p = "dotnet" -> p
            | _ -> "dotnet"

    let private splitLines (s: string) =
        s.Split('\n')
        |> Array.map (fun l -> l.TrimEnd '\r')
        |> Array.filter ((<>) "")
        |> List.ofArray

    /// Runs the client with `args` and `env` (and no other CHAT_* variable), `stdin` piped in, and
    /// waits for it to exit (failing after `timeout`).
    let run (args: string list) (env: (string * string) list) (stdin: string) (timeout: TimeSpan) : ClientRun =
        let psi = ProcessStartInfo(dotnetHost)
        psi.ArgumentList.Add dll.Value

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
            Assert.Fail($"the client still ran after {timeout.TotalSeconds} s\n{out.Result}\n{err.Result}")

        proc.WaitForExit()

        {
            Code = proc.ExitCode
            StdOut = splitLines out.Result
            StdErr = splitLines err.Result
        }

/// The CLI client end to end, against a server process: login, commands piped on stdin, raw output
/// (stdout is not a terminal), exit codes, certificate checks.
[<TestFixture>]
type E2eClient() =
    inherit ServerFixture([ "--demo-users" ])

    let timeout = TimeSpan.FromSeconds 30.0

    member this.Run(args: string list, password: string, stdin: string) =
        let server = [ "--port"; string this.Server.Port ]
        let r = ChatClient.run (server @ args) [ "CHAT_PASSWORD", password ] stdin timeout
        TestContext.Out.WriteLine r.Shown
        r

    [<Test>]
    member this.``--ca and --user: logs in, sends the piped lines, prints the replies raw, exits 0 at end of input``() =
        let r =
            this.Run([ "--ca"; this.Server.CertFile; "--user"; "alice" ], "password123", "/join dev\nhello\n/who\n")

        Assert.That(r.Code, Is.EqualTo 0, r.Shown)
        Assert.That(r.StdOut, Does.Contain "OK LOGIN alice lobby", r.Shown)
        Assert.That(r.StdOut, Does.Contain "OK JOIN dev", r.Shown)
        let msg = Regex @"^MSG dev \S+ alice hello$"
        Assert.That(r.StdOut |> List.filter msg.IsMatch, Has.Length.EqualTo 1, r.Shown)
        Assert.That(r.StdOut, Does.Contain "OK WHO dev alice", r.Shown)
        Assert.That(List.last r.StdOut, Is.EqualTo "OK QUIT", r.Shown)
        // Raw mode prints the server's lines as they came, in order.
        Assert.That(List.head r.StdOut, Does.StartWith "HELLO chat/1 ", r.Shown)

        let order =
            [ "OK LOGIN "; "OK JOIN "; "MSG "; "OK WHO "; "OK QUIT" ]
            |> List.map (fun p -> r.StdOut |> List.findIndex (fun l -> l.StartsWith p))

        Assert.That(order, Is.Ordered, r.Shown)

    [<Test>]
    member this.``--pin with the server's fingerprint (lower case, no colons) is accepted``() =
        let der =
            X509Certificate2.CreateFromPem(File.ReadAllText this.Server.CertFile).RawData

        let pin = (SHA256.HashData der |> Convert.ToHexString).ToLowerInvariant()
        let r = this.Run([ "--pin"; pin; "--user"; "bob" ], "secret456", "/ping pinned\n")
        Assert.That(r.Code, Is.EqualTo 0, r.Shown)
        Assert.That(r.StdOut, Does.Contain "OK LOGIN bob lobby", r.Shown)
        Assert.That(r.StdOut, Does.Contain "OK PONG pinned", r.Shown)

    [<Test>]
    member this.``a wrong --pin exits 1, names --pin, and sends nothing``() =
        let wrong = String.replicate 32 "AB:" |> fun s -> s.TrimEnd ':'

        let r =
            this.Run([ "--pin"; wrong; "--user"; "alice" ], "password123", "should not be sent\n")

        Assert.That(r.Code, Is.EqualTo 1, r.Shown)
        Assert.That(r.StdErr |> String.concat "\n", Does.Contain "--pin", r.Shown)
        Assert.That(r.StdOut, Is.Empty, r.Shown)

    [<Test>]
    member this.``a wrong password exits 4, and nothing typed ahead is sent``() =
        let r =
            this.Run([ "--ca"; this.Server.CertFile; "--user"; "charlie" ], "not-his-password", "/who\nhello\n")

        Assert.That(r.Code, Is.EqualTo 4, r.Shown)
        Assert.That(r.StdOut |> List.filter (fun l -> l.StartsWith "ERR "), Has.Length.EqualTo 1, r.Shown)
        Assert.That(r.StdOut |> List.exists (fun l -> l.StartsWith "ERR AUTH_FAILED "), Is.True, r.Shown)
        Assert.That(r.StdOut |> List.exists (fun l -> l.StartsWith "OK WHO" || l.StartsWith "MSG "), Is.False, r.Shown)
