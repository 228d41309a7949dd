/// What a refused connection says: each failure names its fix.
module Chat.Client.Tests.TrustTests

open System.Security.Cryptography.X509Certificates
open Expecto
open Chat.Client

let private presented = {
    Fingerprint = "AB:CD:EF"
    Names = [ "localhost"; "127.0.0.1" ]
}

let private explain trust hint error = ConnectError.explain trust hint error

[<Tests>]
let tests =
    testList "TrustTests" [
        testCase "a wrong pin names --pin and shows the fingerprint the server presented" (fun () ->
            let text = explain (Pinned [| 1uy |]) None (WrongPin presented)
            Expect.stringContains text "--pin" "the explanation"
            Expect.stringContains text "AB:CD:EF" "the explanation")

        testCase "an untrusted certificate with --ca names the file, the problems, and both fixes" (fun () ->
            let text =
                explain
                    (CaFile "other.crt")
                    None
                    (Untrusted([ X509ChainStatusFlags.UntrustedRoot; X509ChainStatusFlags.NotTimeValid ], presented))

            Expect.stringStarts
                text
                "certificate not trusted by other.crt (unknown or self-signed issuer, expired or not yet valid)"
                "the explanation"

            Expect.stringContains text "--ca" "the explanation"
            Expect.stringContains text "--pin" "the explanation"
            Expect.stringEnds text "SHA-256 AB:CD:EF" "the explanation")

        testCase
            "an untrusted certificate against the system store offers the local certificate when there is one"
            (fun () ->
                let text =
                    explain
                        SystemStore
                        (Some "certs/server.crt")
                        (Untrusted([ X509ChainStatusFlags.PartialChain ], presented))

                Expect.stringContains text "(issuer not found)" "the explanation"
                Expect.stringContains text "pass --ca certs/server.crt or --pin" "the explanation"

                let without = explain SystemStore None (Untrusted([], presented))

                Expect.stringStarts
                    without
                    "certificate not trusted: pass --ca <CA or server certificate file> or --pin"
                    "the explanation")

        testCase "a problem reported twice is listed once" (fun () ->
            let text =
                explain
                    SystemStore
                    None
                    (Untrusted([ X509ChainStatusFlags.Revoked; X509ChainStatusFlags.Revoked ], presented))

            Expect.stringStarts text "certificate not trusted (revoked):" "the explanation")

        testCase "a name mismatch lists the names the certificate has, or says it has none" (fun () ->
            let text = explain SystemStore None (WrongName("example.org", presented))

            Expect.stringStarts
                text
                "certificate is not valid for example.org (it names localhost, 127.0.0.1)"
                "the explanation"

            Expect.stringContains text "--host" "the explanation"
            Expect.stringContains text "--pin" "the explanation"

            let none =
                explain SystemStore None (WrongName("example.org", { presented with Names = [] }))

            Expect.stringContains none "(it names no host names)" "the explanation")

        testCase "connection, handshake and CA file failures say where and why" (fun () ->
            Expect.equal
                (explain SystemStore None (CannotConnect("h", 9, "Connection refused")))
                "cannot connect to h:9: Connection refused"
                "the explanation"

            Expect.equal
                (explain SystemStore None (HandshakeFailed("h", 9, "no answer within 10 s")))
                "TLS handshake with h:9 failed: no answer within 10 s"
                "the explanation"

            Expect.equal
                (explain (CaFile "x.pem") None (BadCaFile("x.pem", "no PEM certificate in it")))
                "cannot use --ca x.pem: no PEM certificate in it"
                "the explanation"

            Expect.stringContains (explain SystemStore None NoCertificate) "no certificate" "the explanation")
    ]
