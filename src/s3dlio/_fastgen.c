/*
 * s3dlio._fastgen: the inner loop of datagen's 'random' algorithm, in C.
 *
 * The stream of a key is the SplitMix64 sequence: word i (i = 0, 1, ...) is
 * mix64(key + (i + 1) * GAMMA), stored little-endian. datagen.py has the same
 * function in numpy (the fallback when this module cannot be built); both must
 * give identical bytes, which tests/test_datagen.py checks.
 *
 * Why C: numpy needs about ten whole-array passes per piece for this mixer (or
 * PCG64.random_raw, 0.25 s of CPU per GiB), where this loop keeps each word in
 * registers and writes it once. See docs/performance.md for the figures.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#define GAMMA UINT64_C(0x9E3779B97F4A7C15)

/* One version per instruction set where the compiler and libc can dispatch at
   load time (GNU ifunc): the word loop vectorises with 64-bit multiplies under
   AVX-512DQ and AVX2; elsewhere it is the plain (still unrolled) loop. */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__) && \
    __GNUC__ >= 12
#define FASTGEN_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FASTGEN_CLONES
#endif

static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static inline uint64_t to_le(uint64_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return __builtin_bswap64(v);
#else
    return v;
#endif
}

/* Words [word, word + n) of the stream of key into out (8 * n bytes, any alignment). */
FASTGEN_CLONES
static void fill_words(unsigned char *out, uint64_t key, uint64_t word, size_t n) {
    uint64_t x = key + (word + 1) * GAMMA;
    size_t i = 0;
    /* Four independent lanes: the multiplies of one word overlap the others'. */
    for (; i + 4 <= n; i += 4) {
        uint64_t w0 = to_le(mix64(x));
        uint64_t w1 = to_le(mix64(x + GAMMA));
        uint64_t w2 = to_le(mix64(x + 2 * GAMMA));
        uint64_t w3 = to_le(mix64(x + 3 * GAMMA));
        memcpy(out + 8 * i, &w0, 8);
        memcpy(out + 8 * i + 8, &w1, 8);
        memcpy(out + 8 * i + 16, &w2, 8);
        memcpy(out + 8 * i + 24, &w3, 8);
        x += 4 * GAMMA;
    }
    for (; i < n; i++) {
        uint64_t w = to_le(mix64(x));
        memcpy(out + 8 * i, &w, 8);
        x += GAMMA;
    }
}

/* Bytes [lo, lo + len) of the stream of key into out. */
static void fill_bytes(unsigned char *out, uint64_t key, uint64_t lo, size_t len) {
    uint64_t word = lo / 8;
    size_t skip = (size_t)(lo % 8);
    unsigned char tmp[8];
    if (skip && len) { /* head: the end of a word */
        size_t take = 8 - skip < len ? 8 - skip : len;
        fill_words(tmp, key, word, 1);
        memcpy(out, tmp + skip, take);
        out += take;
        len -= take;
        word++;
    }
    size_t whole = len / 8;
    fill_words(out, key, word, whole);
    if (len % 8) { /* tail: the start of a word */
        fill_words(tmp, key, word + whole, 1);
        memcpy(out + 8 * whole, tmp, len % 8);
    }
}

PyDoc_STRVAR(fill_doc,
"fill(buffer, key, offset) -> None\n\n"
"Write bytes [offset, offset + len(buffer)) of the SplitMix64 stream of the 64-bit\n"
"``key`` (word i = mix64(key + (i + 1) * 0x9E3779B97F4A7C15), little-endian) into the\n"
"writable, C-contiguous ``buffer``. The GIL is released while it fills.");

static PyObject *fastgen_fill(PyObject *self, PyObject *args) {
    Py_buffer view;
    unsigned long long key, offset;
    (void)self;
    /* K: any int, taken modulo 2**64 (keys are 64-bit patterns). */
    if (!PyArg_ParseTuple(args, "w*KK:fill", &view, &key, &offset))
        return NULL;
    if (!PyBuffer_IsContiguous(&view, 'C')) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_BufferError, "buffer must be C-contiguous");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    fill_bytes((unsigned char *)view.buf, (uint64_t)key, (uint64_t)offset, (size_t)view.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
}

static PyMethodDef fastgen_methods[] = {
    {"fill", fastgen_fill, METH_VARARGS, fill_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef fastgen_module = {
    PyModuleDef_HEAD_INIT,
    "s3dlio._fastgen",
    "C kernel of s3dlio.datagen's 'random' algorithm (SplitMix64 over a counter).",
    -1,
    fastgen_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__fastgen(void) { return PyModule_Create(&fastgen_module); }
