// BouncyCastle 1.72 driver for tests/interop_envelope.rs: encrypts, decrypts, signs (Ed25519) and
// verifies raw DER/BER CMS. One JVM runs a whole batch of jobs (JVM start-up is the slow part).
//
// Usage: java -cp <bc jars>:<classes> BcEnvelope <jobs file>
// Each line of the jobs file is one job, fields separated by TAB:
//   encrypt  <cipher> <in> <out.der> <kind=cert.pem>...   cipher: aes128-gcm aes256-gcm aes128-cbc
//                                                         aes256-cbc chacha20-poly1305; kind: rsa oaep ecdh ecdh-ukm
//                                                         x25519 x25519-ukm
//   decrypt  <cert.pem> <key.pem> <in.der> <out>
//   sign     <cert.pem> <key.pem> <chain.pem> <in> <out.der> <detached|opaque>
//   verify   <in.der> <content file, or -> <out>
// For each job one line goes to stdout: "ok<TAB>detail" or "error<TAB>exception".

import java.io.ByteArrayOutputStream;
import java.io.FileReader;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Security;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import javax.crypto.spec.SecretKeySpec;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.cms.CMSObjectIdentifiers;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.cms.GCMParameters;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSAuthEnvelopedData;
import org.bouncycastle.cms.CMSAuthEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSEnvelopedData;
import org.bouncycastle.cms.CMSEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.cms.CMSTypedData;
import org.bouncycastle.cms.KeyAgreeRecipientInformation;
import org.bouncycastle.cms.Recipient;
import org.bouncycastle.cms.RecipientInformation;
import org.bouncycastle.cms.RecipientInformationStore;
import org.bouncycastle.cms.RecipientOperator;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.jcajce.JcaSignerInfoGeneratorBuilder;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.cms.jcajce.JceCMSContentEncryptorBuilder;
import org.bouncycastle.cms.jcajce.JceKeyAgreeEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyAgreeRecipient;
import org.bouncycastle.cms.jcajce.JceKeyAgreeRecipientInfoGenerator;
import org.bouncycastle.cms.jcajce.JceKeyTransAuthEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyTransEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientInfoGenerator;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.InputAEADDecryptor;
import org.bouncycastle.operator.OutputEncryptor;
import org.bouncycastle.operator.jcajce.JcaAlgorithmParametersConverter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.bouncycastle.util.Store;

public final class BcEnvelope {
    public static void main(String[] args) throws Exception {
        Security.addProvider(new BouncyCastleProvider());
        for (String line : Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8)) {
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split("\t");
            String result;
            try {
                switch (f[0]) {
                    case "encrypt": result = encrypt(f); break;
                    case "decrypt": result = decrypt(f); break;
                    case "sign": result = sign(f); break;
                    case "verify": result = verify(f); break;
                    default: throw new IllegalArgumentException("unknown job " + f[0]);
                }
                System.out.println("ok\t" + result);
            } catch (Exception e) {
                System.out.println("error\t" + e.toString().replace('\n', ' ')
                    + (e.getCause() != null ? " / " + e.getCause().toString().replace('\n', ' ') : ""));
            }
        }
    }

    /**
     * BC 1.72's CMS layer maps the X9.63-KDF key-agreement OIDs to its EC-only ECDH classes ("can't
     * identify EC private key" for an X25519 key), although the provider has the X25519 agreements
     * with the same KDF. A second provider instance routes those OIDs to them, for XDH keys only.
     */
    static java.security.Provider xdhProvider() {
        java.security.Provider p = new BouncyCastleProvider();
        String spi = "org.bouncycastle.jcajce.provider.asymmetric.edec.KeyAgreementSpi$";
        p.remove("Alg.Alias.KeyAgreement.1.3.132.1.11.1");
        p.remove("Alg.Alias.KeyAgreement.OID.1.3.132.1.11.1");
        p.put("KeyAgreement.1.3.132.1.11.1", spi + "X25519withSHA256KDF");
        p.put("KeyAgreement.ECDHWITHSHA256KDF", spi + "X25519withSHA256KDF");
        return p;
    }

    static X509Certificate cert(String path) throws Exception {
        try (PEMParser p = new PEMParser(new FileReader(path))) {
            return new JcaX509CertificateConverter().setProvider("BC")
                .getCertificate((X509CertificateHolder) p.readObject());
        }
    }

    static PrivateKey key(String path) throws Exception {
        try (PEMParser p = new PEMParser(new FileReader(path))) {
            return new JcaPEMKeyConverter().setProvider("BC").getPrivateKey((PrivateKeyInfo) p.readObject());
        }
    }

    /** id-alg-AEADChaCha20Poly1305 (RFC 8103); BC 1.72 has no CMSAlgorithm constant for it. */
    static final ASN1ObjectIdentifier CHACHA20_POLY1305 =
        new ASN1ObjectIdentifier("1.2.840.113549.1.9.16.3.18");

    /**
     * RFC 8103 content encryption for CMSAuthEnvelopedDataGenerator: BC 1.72's
     * JceCMSContentEncryptorBuilder gives no AEAD encryptor for ChaCha20-Poly1305, so this one runs
     * BC's own "ChaCha20-Poly1305" JCA cipher: parameters = the 12-byte nonce as an OCTET STRING,
     * the 16-byte tag goes to the MAC field. The content is buffered until close.
     */
    static final class ChaChaEncryptor implements org.bouncycastle.operator.OutputAEADEncryptor {
        final SecretKeySpec key;
        final byte[] nonce = new byte[12];
        final ByteArrayOutputStream aad = new ByteArrayOutputStream();
        byte[] mac;

        ChaChaEncryptor() {
            java.security.SecureRandom r = new java.security.SecureRandom();
            byte[] k = new byte[32];
            r.nextBytes(k);
            r.nextBytes(nonce);
            key = new SecretKeySpec(k, "ChaCha20");
        }

        public AlgorithmIdentifier getAlgorithmIdentifier() {
            return new AlgorithmIdentifier(CHACHA20_POLY1305,
                new org.bouncycastle.asn1.DEROctetString(nonce));
        }

        public org.bouncycastle.operator.GenericKey getKey() {
            return new org.bouncycastle.operator.jcajce.JceGenericKey(getAlgorithmIdentifier(), key);
        }

        public OutputStream getAADStream() {
            return aad;
        }

        public byte[] getMAC() {
            return mac;
        }

        public OutputStream getOutputStream(final OutputStream out) {
            return new ByteArrayOutputStream() {
                public void close() throws java.io.IOException {
                    try {
                        Cipher c = Cipher.getInstance("ChaCha20-Poly1305", "BC");
                        c.init(Cipher.ENCRYPT_MODE, key, new javax.crypto.spec.IvParameterSpec(nonce));
                        c.updateAAD(aad.toByteArray());
                        byte[] all = c.doFinal(toByteArray());
                        out.write(all, 0, all.length - 16);
                        mac = java.util.Arrays.copyOfRange(all, all.length - 16, all.length);
                        out.close();
                    } catch (java.security.GeneralSecurityException e) {
                        throw new java.io.IOException(e);
                    }
                }
            };
        }
    }

    /** The content cipher for an AuthEnvelopedData: AES-GCM (its GCMParameters) or ChaCha20-Poly1305. */
    static Cipher aeadCipher(Key k, AlgorithmIdentifier contentEncAlg) throws Exception {
        if (contentEncAlg.getAlgorithm().equals(CHACHA20_POLY1305)) {
            Cipher c = Cipher.getInstance("ChaCha20-Poly1305", "BC");
            byte[] nonce = ASN1OctetString.getInstance(contentEncAlg.getParameters()).getOctets();
            c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(k.getEncoded(), "ChaCha20"),
                new javax.crypto.spec.IvParameterSpec(nonce));
            return c;
        }
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding", "BC");
        GCMParameters p = GCMParameters.getInstance(contentEncAlg.getParameters());
        c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(k.getEncoded(), "AES"),
            new GCMParameterSpec(p.getIcvLen() * 8, p.getNonce()));
        return c;
    }

    static RecipientOperator aeadOperator(final Cipher c, final AlgorithmIdentifier contentEncAlg) {
        return new RecipientOperator(new InputAEADDecryptor() {
            public AlgorithmIdentifier getAlgorithmIdentifier() {
                return contentEncAlg;
            }

            public InputStream getInputStream(InputStream in) {
                return new org.bouncycastle.jcajce.io.CipherInputStream(in, c);
            }

            public OutputStream getAADStream() {
                return new OutputStream() {
                    public void write(int b) {
                        c.updateAAD(new byte[] {(byte) b});
                    }

                    public void write(byte[] b, int off, int len) {
                        c.updateAAD(b, off, len);
                    }
                };
            }

            public byte[] getMAC() {
                return new byte[0];
            }
        });
    }

    /** RSA key transport for a ChaCha20-Poly1305 AuthEnvelopedData (BC 1.72 has none). */
    static final class KeyTransChaChaRecipient extends org.bouncycastle.cms.jcajce.JceKeyTransRecipient {
        KeyTransChaChaRecipient(PrivateKey k) {
            super(k);
        }

        @Override
        public RecipientOperator getRecipientOperator(AlgorithmIdentifier keyEncAlg,
                AlgorithmIdentifier contentEncAlg, byte[] encryptedContentKey) throws CMSException {
            Key k = extractSecretKey(keyEncAlg, contentEncAlg, encryptedContentKey);
            try {
                return aeadOperator(aeadCipher(k, contentEncAlg), contentEncAlg);
            } catch (Exception e) {
                throw new CMSException("ChaCha20-Poly1305 set-up: " + e, e);
            }
        }
    }

    static ASN1ObjectIdentifier cipherOid(String name) {
        switch (name) {
            case "aes128-gcm": return CMSAlgorithm.AES128_GCM;
            case "aes256-gcm": return CMSAlgorithm.AES256_GCM;
            case "aes128-cbc": return CMSAlgorithm.AES128_CBC;
            case "aes256-cbc": return CMSAlgorithm.AES256_CBC;
            case "chacha20-poly1305": return CHACHA20_POLY1305;
            default: throw new IllegalArgumentException("cipher " + name);
        }
    }

    static String encrypt(String[] f) throws Exception {
        boolean gcm = f[1].endsWith("-gcm") || f[1].equals("chacha20-poly1305");
        byte[] data = Files.readAllBytes(Path.of(f[2]));
        CMSEnvelopedDataGenerator env = new CMSEnvelopedDataGenerator();
        CMSAuthEnvelopedDataGenerator auth = new CMSAuthEnvelopedDataGenerator();
        for (int i = 4; i < f.length; i++) {
            String[] r = f[i].split("=", 2);
            X509Certificate c = cert(r[1]);
            org.bouncycastle.cms.RecipientInfoGenerator g;
            switch (r[0]) {
                case "rsa":
                    g = new JceKeyTransRecipientInfoGenerator(c).setProvider("BC");
                    break;
                case "oaep":
                    AlgorithmIdentifier oaep = new JcaAlgorithmParametersConverter().getAlgorithmIdentifier(
                        PKCSObjectIdentifiers.id_RSAES_OAEP,
                        new OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256,
                            PSource.PSpecified.DEFAULT));
                    g = new JceKeyTransRecipientInfoGenerator(c, oaep).setProvider("BC");
                    break;
                case "ecdh":
                case "ecdh-ukm": {
                    KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC", "BC");
                    kpg.initialize(((ECPublicKey) c.getPublicKey()).getParams());
                    KeyPair eph = kpg.generateKeyPair();
                    int bits = ((ECPublicKey) c.getPublicKey()).getParams().getOrder().bitLength();
                    ASN1ObjectIdentifier kdf = bits > 256 ? CMSAlgorithm.ECDH_SHA384KDF : CMSAlgorithm.ECDH_SHA256KDF;
                    ASN1ObjectIdentifier wrap = f[1].startsWith("aes128") ? CMSAlgorithm.AES128_WRAP
                        : CMSAlgorithm.AES256_WRAP;
                    JceKeyAgreeRecipientInfoGenerator ka =
                        new JceKeyAgreeRecipientInfoGenerator(kdf, eph.getPrivate(), eph.getPublic(), wrap);
                    if (r[0].equals("ecdh-ukm")) {
                        // RFC 5753 user keying material: it enters the KDF's SharedInfo.
                        byte[] ukm = new byte[64];
                        new java.security.SecureRandom().nextBytes(ukm);
                        ka.setUserKeyingMaterial(ukm);
                    }
                    g = ka.addRecipient(c).setProvider("BC");
                    break;
                }
                case "x25519":
                case "x25519-ukm": {
                    // RFC 8418 ephemeral-static X25519 with dhSinglePass-stdDH-sha256kdf-scheme (BC
                    // 1.72 has X25519 agreements with the X9.63 KDF over SHA-256 only, and no HKDF).
                    KeyPair eph = KeyPairGenerator.getInstance("X25519", "BC").generateKeyPair();
                    ASN1ObjectIdentifier kdf = CMSAlgorithm.ECDH_SHA256KDF;
                    ASN1ObjectIdentifier wrap = f[1].startsWith("aes128") ? CMSAlgorithm.AES128_WRAP
                        : CMSAlgorithm.AES256_WRAP;
                    JceKeyAgreeRecipientInfoGenerator ka =
                        new JceKeyAgreeRecipientInfoGenerator(kdf, eph.getPrivate(), eph.getPublic(), wrap);
                    if (r[0].equals("x25519-ukm")) {
                        byte[] ukm = new byte[32];
                        new java.security.SecureRandom().nextBytes(ukm);
                        ka.setUserKeyingMaterial(ukm);
                    }
                    g = ka.addRecipient(c).setProvider(xdhProvider());
                    break;
                }
                default: throw new IllegalArgumentException("recipient kind " + r[0]);
            }
            env.addRecipientInfoGenerator(g);
            auth.addRecipientInfoGenerator(g);
        }
        OutputEncryptor enc = f[1].equals("chacha20-poly1305") ? new ChaChaEncryptor()
            : new JceCMSContentEncryptorBuilder(cipherOid(f[1])).setProvider("BC").build();
        byte[] out = gcm
            ? auth.generate(new CMSProcessableByteArray(data), (org.bouncycastle.operator.OutputAEADEncryptor) enc).getEncoded()
            : env.generate(new CMSProcessableByteArray(data), enc).getEncoded();
        Files.write(Path.of(f[3]), out);
        return gcm ? "authEnveloped" : "enveloped";
    }

    /** ECDH for AuthEnvelopedData: BC 1.72 has a KeyTrans AEAD recipient but no KeyAgree one. */
    static final class KeyAgreeAuthRecipient extends JceKeyAgreeRecipient {
        KeyAgreeAuthRecipient(PrivateKey k) {
            super(k);
        }

        @Override
        public RecipientOperator getRecipientOperator(AlgorithmIdentifier keyEncAlg,
                final AlgorithmIdentifier contentEncAlg, SubjectPublicKeyInfo senderKey,
                ASN1OctetString ukm, byte[] encryptedContentKey) throws CMSException {
            Key k = extractSecretKey(keyEncAlg, contentEncAlg, senderKey, ukm, encryptedContentKey);
            try {
                return aeadOperator(aeadCipher(k, contentEncAlg), contentEncAlg);
            } catch (Exception e) {
                throw new CMSException("GCM set-up: " + e, e);
            }
        }
    }

    static String decrypt(String[] f) throws Exception {
        X509Certificate c = cert(f[1]);
        PrivateKey k = key(f[2]);
        byte[] in = Files.readAllBytes(Path.of(f[3]));
        ContentInfo ci = ContentInfo.getInstance(ASN1Primitive.fromByteArray(in));
        boolean auth = ci.getContentType().equals(CMSObjectIdentifiers.authEnvelopedData);
        RecipientInformationStore store;
        String cipher;
        if (auth) {
            CMSAuthEnvelopedData d = new CMSAuthEnvelopedData(in);
            store = d.getRecipientInfos();
            cipher = org.bouncycastle.asn1.cms.AuthEnvelopedData.getInstance(ci.getContent())
                .getAuthEncryptedContentInfo().getContentEncryptionAlgorithm().getAlgorithm().getId();
        } else {
            CMSEnvelopedData d = new CMSEnvelopedData(in);
            store = d.getRecipientInfos();
            cipher = d.getContentEncryptionAlgorithm().getAlgorithm().getId();
        }
        RecipientInformation ri = null;
        for (RecipientInformation r : store.getRecipients()) {
            if (r.getRID().match(new X509CertificateHolder(c.getEncoded()))) {
                ri = r;
            }
        }
        if (ri == null) {
            throw new IllegalStateException("no RecipientInfo for " + c.getSubjectX500Principal());
        }
        boolean agree = ri instanceof KeyAgreeRecipientInformation;
        boolean xdh = k.getAlgorithm().equals("X25519") || k.getAlgorithm().equals("XDH");
        Recipient rec;
        if (agree) {
            java.security.Provider p = xdh ? xdhProvider() : Security.getProvider("BC");
            rec = auth ? new KeyAgreeAuthRecipient(k).setProvider(p)
                : new JceKeyAgreeEnvelopedRecipient(k).setProvider(p);
        } else {
            boolean chacha = cipher.equals(CHACHA20_POLY1305.getId());
            rec = chacha ? new KeyTransChaChaRecipient(k).setProvider("BC")
                : auth ? new JceKeyTransAuthEnvelopedRecipient(k).setProvider("BC")
                : new JceKeyTransEnvelopedRecipient(k).setProvider("BC");
        }
        byte[] content = ri.getContent(rec);
        Files.write(Path.of(f[4]), content);
        return (auth ? "authEnveloped " : "enveloped ") + cipher + " "
            + ri.getKeyEncryptionAlgOID();
    }

    static String sign(String[] f) throws Exception {
        X509Certificate c = cert(f[1]);
        PrivateKey k = key(f[2]);
        X509Certificate chain = cert(f[3]);
        byte[] data = Files.readAllBytes(Path.of(f[4]));
        boolean detached = f[6].equals("detached");
        CMSSignedDataGenerator g = new CMSSignedDataGenerator();
        g.addSignerInfoGenerator(new JcaSignerInfoGeneratorBuilder(
                new JcaDigestCalculatorProviderBuilder().setProvider("BC").build())
            .build(new JcaContentSignerBuilder("Ed25519").setProvider("BC").build(k), c));
        List<X509Certificate> certs = new ArrayList<>();
        certs.add(c);
        certs.add(chain);
        g.addCertificates(new JcaCertStore(certs));
        CMSSignedData s = g.generate(new CMSProcessableByteArray(data), !detached);
        Files.write(Path.of(f[5]), s.getEncoded("DER"));
        SignerInformation si = s.getSignerInfos().getSigners().iterator().next();
        return si.getEncryptionAlgOID() + " " + si.getDigestAlgOID();
    }

    @SuppressWarnings("unchecked")
    static String verify(String[] f) throws Exception {
        byte[] in = Files.readAllBytes(Path.of(f[1]));
        CMSSignedData s = f[2].equals("-") ? new CMSSignedData(in)
            : new CMSSignedData(new CMSProcessableByteArray(Files.readAllBytes(Path.of(f[2]))), in);
        Store<X509CertificateHolder> certs = s.getCertificates();
        StringBuilder out = new StringBuilder();
        Collection<SignerInformation> signers = s.getSignerInfos().getSigners();
        if (signers.isEmpty()) {
            throw new IllegalStateException("no signers");
        }
        for (SignerInformation si : signers) {
            Collection<X509CertificateHolder> match = certs.getMatches(si.getSID());
            if (match.isEmpty()) {
                throw new IllegalStateException("signer certificate not in the message");
            }
            X509CertificateHolder h = match.iterator().next();
            if (!si.verify(new JcaSimpleSignerInfoVerifierBuilder().setProvider("BC").build(h))) {
                throw new IllegalStateException("signature does not verify");
            }
            out.append(si.getEncryptionAlgOID()).append(' ').append(si.getDigestAlgOID()).append(' ')
                .append(h.getSubject()).append(';');
        }
        CMSTypedData content = s.getSignedContent();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        if (content != null) {
            content.write(bytes);
        }
        Files.write(Path.of(f[3]), bytes.toByteArray());
        return out.toString();
    }
}
