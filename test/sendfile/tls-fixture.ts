/**
 * A self-signed certificate for "localhost" (P-256, valid until 2126), made for these tests with
 * `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500
 * -subj /CN=localhost`. It protects nothing: the tests' client does not verify it.
 */
export const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgYyx2Ssm+CaSxqK7b
oexQeke5AJnjk4cfflp2XF7Unx6hRANCAASAXMURojV6+VfA7HJaJiC5LwUpFef2
3j9+oOn3JZyr9a8mLR2iwwns9gdk3OsR3hpNuPl9jDqPXT6AqmXfkwkA
-----END PRIVATE KEY-----
`;

export const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBgDCCASWgAwIBAgIULXnPKpxUoAKbFCcTosU1LBsnN1YwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwNTEzMjYwMFoYDzIxMjYxMTEx
MTMyNjAwWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASAXMURojV6+VfA7HJaJiC5LwUpFef23j9+oOn3JZyr9a8mLR2iwwns
9gdk3OsR3hpNuPl9jDqPXT6AqmXfkwkAo1MwUTAdBgNVHQ4EFgQUAtXEolrAMDAw
1vRTBiPFCkjzL2gwHwYDVR0jBBgwFoAUAtXEolrAMDAw1vRTBiPFCkjzL2gwDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAuQoIUhnKWltukitHwzTt
ST+P2nRu6pfiQt88KhBAPmsCIQC0VEXK5tFfVToNPtRIT6ALanDTP0V9bH4Fhdqv
G5N4yQ==
-----END CERTIFICATE-----
`;
