namespace Chat.Server

open System
open System.Net.Security
open System.Reflection
open System.Runtime.InteropServices

/// OpenSSL keeps a TLS connection's record buffers (about 20 KiB) for its whole life unless told
/// `SSL_MODE_RELEASE_BUFFERS`, which frees them whenever nothing is pending: an idle logged-in
/// connection then holds 63 KiB instead of 86 (bench connections, 2,000). SslStream does not set it
/// and has no public handle; on Linux its security context is the `SSL*` itself. The mode is set
/// only where that shape is found (checked once), else nothing is done and `Available` says so.
/// `long SSL_ctrl(SSL *ssl, int cmd, long larg, void *parg)`.
[<UnmanagedFunctionPointer(CallingConvention.Cdecl)>]
type internal SslCtrl = delegate of nativeint * int * int64 * nativeint -> int64

module internal TlsBuffers =
    /// `SSL_ctrl` of the OpenSSL 3 that .NET uses here; None where there is none (OpenSSL 1.1
    /// only), or where .NET was told to load another version.
    let private sslCtrl =
        let mutable lib = 0n
        let mutable export = 0n
        let other = Environment.GetEnvironmentVariable "CLR_OPENSSL_VERSION_OVERRIDE"

        if
            OperatingSystem.IsLinux()
            && (String.IsNullOrEmpty other || other = "3")
            && NativeLibrary.TryLoad("libssl.so.3", &lib)
            && NativeLibrary.TryGetExport(lib, "SSL_ctrl", &export)
        then
            Some(Marshal.GetDelegateForFunctionPointer<SslCtrl> export)
        else
            None

    [<Literal>]
    let private SslCtrlMode = 33

    [<Literal>]
    let private SslModeReleaseBuffers = 0x10L

    let private context =
        let field =
            typeof<SslStream>.GetField("_securityContext", BindingFlags.NonPublic ||| BindingFlags.Instance)

        let isSslHandle =
            not (isNull field)
            && OperatingSystem.IsLinux()
            && field.FieldType.FullName = "System.Net.Security.SafeDeleteSslContext"
            && typeof<SafeHandle>.IsAssignableFrom field.FieldType
            // No state of its own beside SafeHandle's: the handle is the SSL object.
            && field.FieldType
                .GetFields(
                    BindingFlags.Instance
                    ||| BindingFlags.NonPublic
                    ||| BindingFlags.Public
                    ||| BindingFlags.DeclaredOnly
                )
                .Length
                =
                0
            && field.FieldType.BaseType
                .GetFields(BindingFlags.Instance ||| BindingFlags.NonPublic ||| BindingFlags.DeclaredOnly)
                .Length
                =
                0

        if isSslHandle then Some field else None

    /// Whether this runtime's SslStream has the shape `releaseWhenIdle` needs, and OpenSSL 3 is there.
    let available = context.IsSome && sslCtrl.IsSome

    /// Sets `SSL_MODE_RELEASE_BUFFERS` on an authenticated stream; false when it could not.
    let releaseWhenIdle (ssl: SslStream) : bool =
        match sslCtrl, context |> Option.map (fun f -> f.GetValue ssl) with
        | Some ctrl, Some(:? SafeHandle as handle) when not handle.IsInvalid ->
            let mutable added = false

            try
                handle.DangerousAddRef(&added)

                ctrl.Invoke(handle.DangerousGetHandle(), SslCtrlMode, SslModeReleaseBuffers, 0n)
                &&& SslModeReleaseBuffers
                <> 0L
            finally
                if added then
                    handle.DangerousRelease()
        | _ -> false
