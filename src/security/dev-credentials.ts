/**
 * Development credentials: what `npm start`, the tests and the benchmark kit use on this machine.
 * Their hashes (with the development pepper) are the defaults of config's `security` section and
 * sit in config/router.yaml, so a config without the section still runs locally. Ingest warns at
 * start-up whenever one of these is accepted (src/security/security-config.ts devCredentialsInUse):
 * they are public, in this repository, and must never guard an ingest reachable from elsewhere.
 */
export const DEV_VENDOR = 'acme-leads';
/** Two keys, as in a rotation: both are accepted. */
export const DEV_VENDOR_KEYS = {
  dev1: 'lr_dev1_Ad5M8sv3ahsWV7hmr_RmJjbEljFp-u9WzpJaOHJ_UO4',
  dev2: 'lr_dev2_iWH4iRCIzLzo8RfnmGDllZXST7WB9DDi0rYuihen0Vg',
} as const;
export const DEV_OPERATOR_TOKEN = 'lro_dev-operator_tOxdczjmGOfsunNxF6THU_kiab14chp2TnDIAvI_Fig';

/** HMAC-SHA256 with the development pepper, as config stores them. */
export const DEV_HASHES = {
  dev1: 'hmac-sha256:H1Y3IzTPmhDRyXIGdMe17h1FLIvh-vNOY5ts3QRysAM',
  dev2: 'hmac-sha256:92lqTfu4Rsj8xVycbHydkKT6c00Ew3CTuOCj-Q90qNk',
  operator: 'hmac-sha256:aMdnQ-ywZFmHTw3YBoiTLu3FaoWXL7_AlA-U-yhnWmc',
} as const;
