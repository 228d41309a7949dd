/// The Redis password kept out of what the server prints: the configuration string, and text
/// (a library's message) that may quote it.
module Chat.Domain.Tests.RedactionTests

open Expecto
open Chat.Domain
open Chat.Domain.Tests.Builders
open Chat.Tests.Cases

[<Tests>]
let tests =
    testList "RedactionTests" [
        testCases
            "a configuration string's password is masked, the rest kept as given"
            [
                "127.0.0.1:6379,password=hunter22", "127.0.0.1:6379,password=***"
                "redis:6379,user=chat,password=s3cret,ssl=true", "redis:6379,user=chat,password=***,ssl=true"
                "a:1,b:2,Password=X,abortConnect=false", "a:1,b:2,Password=***,abortConnect=false"
                "h:1, PASSWORD = spaced ", "h:1, PASSWORD =***"
                // The library splits an option at its first '=': the rest is the value.
                "h:1,password=a=b=c", "h:1,password=***"
                "127.0.0.1:6379", "127.0.0.1:6379"
                "127.0.0.1:6379,user=chat", "127.0.0.1:6379,user=chat"
                // Nothing to hide: an empty value stays as it was.
                "h:1,password=", "h:1,password="
                "", ""
            ]
            (fun (given, expected) -> Redaction.configuration given =! expected)

        testCase "a null configuration stays null" (fun () -> Redaction.configuration null =! null)

        testCases
            "the secrets of a configuration string are its passwords"
            [
                "127.0.0.1:6379,password=hunter22", [ "hunter22" ]
                "h:1,user=chat,PassWord= spaced ,ssl=true", [ "spaced" ]
                "h:1,password=a,password=b", [ "a"; "b" ]
                "h:1,password=", []
                "h:1,user=chat", []
            ]
            (fun (given, expected) -> Redaction.secrets given =! expected)

        testCases
            "text loses every occurrence of a secret, and any quoted password= value"
            [
                [ "hunter22" ], "AUTH hunter22 failed; again: hunter22.", "AUTH *** failed; again: ***."
                [ "abc"; "abcdef" ], "x abcdef y abc", "x *** y ***"
                [],
                "config 127.0.0.1:1,password=p@ss,ssl=true was refused",
                "config 127.0.0.1:1,password=***,ssl=true was refused"
                [], "password=p@ss", "password=***"
                [ "" ], "nothing secret here", "nothing secret here"
            ]
            (fun (secrets, given, expected) -> Redaction.text secrets given =! expected)

        testCase "a configuration's secrets taken out of text that quotes it leave no trace" (fun () ->
            let configuration = "10.0.0.5:6380,user=chat,password=Tr0ub4dor&3,ssl=true"

            let message =
                $"It was not possible to connect to {configuration}; password Tr0ub4dor&3 refused"

            let redacted = Redaction.text (Redaction.secrets configuration) message
            Expect.isFalse (redacted.Contains "Tr0ub4dor") redacted
            Expect.stringContains redacted "user=chat" "the rest is kept")
    ]
