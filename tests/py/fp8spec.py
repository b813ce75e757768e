"""Independent oracle for TransformerEngine's FP8 metadata in its three on-disk formats.

Written from te-fp8-format.md (sections 1, 3.1, 4.1, 5.1 for names and shapes, 8.2 for migration,
8.3 for resizing, 9.2 for generation), not from te-ckpt's code or tables. All arithmetic is float32,
in TE's order: scale = (M / amax) / 2^margin.

A *module* here is (path below the collection, [kernel amax per GEMM per layer]): one TE module with
G GEMMs (LayerNormMLP: G = 2, wi then wo). `layers` = 0 means no leading [L] axis.
"""
import numpy as np

F32 = np.float32
E4M3_MAX, E5M2_MAX = F32(448.0), F32(57344.0)
COLLECTION = {"te1.7": "fp8_meta_collection", "te1.8": "fp8_metas"}


def fp8_max(tensor, hybrid=True):
    """M of tensor 0 input, 1 kernel, 2 grad (HYBRID: E5M2 for grad; E4M3: 448 for all)."""
    return E5M2_MAX if (tensor == 2 and hybrid) else E4M3_MAX


def derive(history, old, M, margin):
    """f(H, S): M / max(H) / 2^margin if max(H) > 0 and finite, else S (section 0)."""
    h = np.asarray(history, dtype=F32)
    a = F32(np.max(h)) if h.size else F32(0)
    if not (a > 0) or not np.isfinite(a):
        return F32(old)
    return F32(F32(F32(M) / a) / F32(2.0 ** margin))


def seeded_scale(m, margin):
    """s(m) of section 9.1."""
    m = F32(m)
    return F32(F32(E4M3_MAX / m) / F32(2.0 ** margin)) if m > 0 else F32(1)


# ------------------------------------------------------------------------- names
def f18_leaf(kind, t, g):
    return f"{kind}_{'iwg'[t]}_{g}"


def f23_leaf(kind, t, g, G):
    q = "" if G == 1 else f"_{g}"
    return f"{('x', 'kernel', 'grad')[t]}{q}_{'amax_history' if kind == 'amax' else 'scale'}"


def leaves(fmt, G):
    if fmt == "te1.7":
        return ["fp8_max", "fp8_meta_amax", "fp8_meta_scale", "fp8_meta_scale_inv"]
    name = f18_leaf if fmt == "te1.8" else (lambda k, t, g: f23_leaf(k, t, g, G))
    return [name(k, t, g) for g in range(G) for k in ("amax", "scale") for t in range(3)]


# ------------------------------------------------------------------------- state
# One tensor: (history float32 [n], scale float32). One GEMM: [input, kernel, grad].
# A module's state: state[l][g][t] = (H, S), l over max(layers, 1).

def state_to_arrays(fmt, G, layers, state, hybrid=True):
    """{leaf: float32 array} of one module (section 3.1 / 4.1 / 5.1 shapes)."""
    lead = [layers] if layers else []
    L = max(layers, 1)
    n = len(state[0][0][0][0])
    out = {}
    if fmt == "te1.7":
        amax = np.zeros([L, 3 * G, n], F32)
        scale = np.zeros([L, 3 * G, 1], F32)
        mx = np.zeros([L, 3 * G, 1], F32)
        for l in range(L):
            for g in range(G):
                for t in range(3):
                    h, s = state[l][g][t]
                    amax[l, 3 * g + t] = h
                    scale[l, 3 * g + t, 0] = s
                    mx[l, 3 * g + t, 0] = fp8_max(t, hybrid)
        inv = (F32(1) / scale).astype(F32)
        for leaf, a in zip(leaves(fmt, G), (mx, amax, scale, inv)):
            out[leaf] = a.reshape(lead + list(a.shape[1:]))
        return out
    name = f18_leaf if fmt == "te1.8" else (lambda k, t, g: f23_leaf(k, t, g, G))
    for g in range(G):
        for t in range(3):
            h = np.stack([np.asarray(state[l][g][t][0], F32) for l in range(L)])
            s = np.array([[state[l][g][t][1]] for l in range(L)], F32)
            out[name("amax", t, g)] = h.reshape(lead + [n])
            out[name("scale", t, g)] = s.reshape(lead + [1])
    return out


def arrays_to_state(fmt, G, layers, arrays):
    """Inverse of state_to_arrays (for building sources and reading outputs)."""
    L = max(layers, 1)
    state = [[[None] * 3 for _ in range(G)] for _ in range(L)]
    if fmt == "te1.7":
        amax = arrays["fp8_meta_amax"].reshape(L, 3 * G, -1)
        scale = arrays["fp8_meta_scale"].reshape(L, 3 * G)
        for l in range(L):
            for g in range(G):
                for t in range(3):
                    state[l][g][t] = (amax[l, 3 * g + t].astype(F32), F32(scale[l, 3 * g + t]))
        return state
    name = f18_leaf if fmt == "te1.8" else (lambda k, t, g: f23_leaf(k, t, g, G))
    for g in range(G):
        for t in range(3):
            h = arrays[name("amax", t, g)].reshape(L, -1)
            s = arrays[name("scale", t, g)].reshape(L)
            for l in range(L):
                state[l][g][t] = (h[l].astype(F32), F32(s[l]))
    return state


# ------------------------------------------------------------------------- generation (9.2)
def generate(fmt, G, layers, kernel_amax, n, hybrid=True, margin=0):
    """Section 9.2 directly, per format. kernel_amax[l][g] = max |W| of GEMM g in layer l."""
    L = max(layers, 1)
    state = []
    for l in range(L):
        gemms = []
        for g in range(G):
            m = F32(kernel_amax[l][g])
            zeros = np.zeros(n, F32)
            inp, grad = (zeros.copy(), F32(1)), (zeros.copy(), F32(1))
            kh = zeros.copy()
            if fmt == "te1.8":                       # amax_w = [m, 0, ...], scales 1
                kh[0] = m
                ker = (kh, F32(1))
            elif fmt == "te1.7":                     # [3g+1, 0] = m, scale s(m)
                kh[0] = m
                ker = (kh, seeded_scale(m, margin))
            else:                                    # element n-1 = m if n >= 2, scale s(m)
                if n >= 2:
                    kh[n - 1] = m
                ker = (kh, seeded_scale(m, margin))
            gemms.append([inp, ker, grad])
        state.append(gemms)
    return state_to_arrays(fmt, G, layers, state, hybrid)


# ------------------------------------------------------------------------- migration (8.2, 8.3)
def f18_to_f23(h, s, M, margin):
    n = len(h)
    g = np.zeros(n, F32)
    for j in range(1, n - 1):
        g[j] = h[j + 1]
    if n >= 2:
        g[n - 1] = h[0]
    return g, derive(h, s, M, margin)


def f23_to_f18(g, s, M, margin):
    """The 'exact rule' of 8.2 (algo max): H[1] = M / (S * 2^margin) when S is positive and finite."""
    n = len(g)
    h = np.zeros(n, F32)
    if n >= 2:
        h[0] = g[n - 1]
        for j in range(2, n):
            h[j] = g[j - 1]
        if s > 0 and np.isfinite(s):
            h[1] = F32(F32(M) / F32(F32(s) * F32(2.0 ** margin)))
    return h, F32(s)


def resize_f18(h, n2):
    n = len(h)
    if n2 == n:
        return np.asarray(h, F32).copy()
    if n2 < n:
        return np.array([h[0]] + list(h[n - n2 + 1:]), F32)
    return np.array([h[0]] + [0] * (n2 - n) + list(h[1:]), F32)


def resize_f23(g, s, n2, M, margin):
    n = len(g)
    if n2 == n:
        return np.asarray(g, F32).copy(), F32(s)
    if n2 < n:
        return np.array([0] + list(g[n - n2 + 1:]), F32), derive(g[n - n2:], s, M, margin)
    return np.array([0] + [0] * (n2 - n) + list(g[1:]), F32), F32(s)


def migrate_tensor(h, s, src, dst, n2, M, margin):
    """te-ckpt's documented order: move between layouts at the source length (8.2), then resize in
    the target's layout (8.3); an F17 target is resized in the F18 layout before its scale is
    derived. F23 -> F23 only resizes."""
    if src == "te2.3" and dst == "te2.3":
        return resize_f23(h, s, n2, M, margin)
    if src == "te2.3":
        h, s = f23_to_f18(h, s, M, margin)
    if dst == "te2.3":
        g, s2 = f18_to_f23(h, s, M, margin)
        return resize_f23(g, s2, n2, M, margin)
    h = resize_f18(h, n2)
    if dst == "te1.7":
        s = derive(h, s, M, margin)
    return h, F32(s)


def migrate_module(arrays, src, dst, G, layers, n2, hybrid=True, margin=0):
    state = arrays_to_state(src, G, layers, arrays)
    for gemms in state:
        for g in range(G):
            for t in range(3):
                h, s = gemms[g][t]
                gemms[g][t] = migrate_tensor(h, s, src, dst, n2, fp8_max(t, hybrid), margin)
    return state_to_arrays(dst, G, layers, state, hybrid)


def random_module(rng, fmt, G, layers, n, hybrid=True):
    """A module with non-trivial recorded state in format `fmt` (positive amaxes, scales f(H))."""
    L = max(layers, 1)
    state = []
    for l in range(L):
        gemms = []
        for g in range(G):
            ts = []
            for t in range(3):
                h = (rng.random(n) * 4 + 0.01).astype(F32)
                if fmt == "te2.3":
                    h[0] = 0                      # a stored F23 history has element 0 = 0
                s = derive(h, F32(1), fp8_max(t, hybrid), 0) if fmt != "te2.3" else \
                    F32(fp8_max(t, hybrid) / F32(rng.random() * 4 + 0.5))
                ts.append((h, s))
            gemms.append(ts)
        state.append(gemms)
    return state_to_arrays(fmt, G, layers, state, hybrid)
