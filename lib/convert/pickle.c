/* Data-only pickle VM (see pickle.h).  Every length is checked against the
 * remaining input; the stack, memo and value count are bounded. */
#include "convert/pickle.h"

#include <string.h>

#include "convert/ckpt.h"
#include "core/alloc.h"

enum {
    G_ODICT = 1, G_REBUILD_V2, G_REBUILD, G_REBUILD_PARAM, G_STORAGE, G_INERT
};

struct pk_vm {
    pk_val **all;            /* every value made, for freeing */
    size_t nall, capall;
    pk_val **stack;
    size_t sp, capstack;
    pk_val **memo;
    size_t nmemo, capmemo;
};

#define MAX_VALUES (1u << 26)
#define MAX_MEMO (1u << 24)
#define MAX_STACK (1u << 20)

pk_vm *pk_vm_new(void) { return b4k_calloc(1, sizeof(pk_vm)); }

void pk_vm_free(pk_vm *vm)
{
    if (!vm)
        return;
    for (size_t i = 0; i < vm->nall; i++) {
        b4k_free(vm->all[i]->items);
        b4k_free(vm->all[i]);
    }
    b4k_free(vm->all);
    b4k_free(vm->stack);
    b4k_free(vm->memo);
    b4k_free(vm);
}

static pk_val *mk(pk_vm *vm, int type)
{
    pk_val *v;
    if (vm->nall >= MAX_VALUES || B4K_GROW(vm->all, vm->capall, vm->nall + 1))
        return NULL;
    v = b4k_calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->type = type;
    vm->all[vm->nall++] = v;
    return v;
}

static int push_item(pk_val *c, pk_val *x)
{
    if (B4K_GROW(c->items, c->cap, c->n + 1))
        return -1;
    c->items[c->n++] = x;
    return 0;
}

static const struct {
    const char *mod, *name;
    int id, dtype;
} globals[] = {
    {"collections", "OrderedDict", G_ODICT, 0},
    {"torch._utils", "_rebuild_tensor_v2", G_REBUILD_V2, 0},
    {"torch._utils", "_rebuild_tensor", G_REBUILD, 0},
    {"torch._utils", "_rebuild_parameter", G_REBUILD_PARAM, 0},
    {"torch", "FloatStorage", G_STORAGE, B4K_F32},
    {"torch", "HalfStorage", G_STORAGE, B4K_F16},
    {"torch", "BFloat16Storage", G_STORAGE, B4K_BF16},
    {"torch", "DoubleStorage", G_STORAGE, B4K_SRC_F64},
    {"torch", "LongStorage", G_STORAGE, B4K_I64},
    {"torch", "IntStorage", G_STORAGE, B4K_I32},
    {"torch", "ShortStorage", G_STORAGE, B4K_SRC_I16},
    {"torch", "CharStorage", G_STORAGE, B4K_SRC_I8},
    {"torch", "ByteStorage", G_STORAGE, B4K_U8},
    {"torch", "BoolStorage", G_STORAGE, B4K_SRC_BOOL},
    {"builtins", "set", G_INERT, 0},
    {"__builtin__", "set", G_INERT, 0},
    {"argparse", "Namespace", G_INERT, 0},
    {"numpy.core.multiarray", "_reconstruct", G_INERT, 0},
    {"numpy.core.multiarray", "scalar", G_INERT, 0},
    {"numpy", "ndarray", G_INERT, 0},
    {"numpy", "dtype", G_INERT, 0},
    {"_codecs", "encode", G_INERT, 0}, /* bytes in protocol 2 (numpy arrays) */
};

#define VFAIL(...) b4k_err_set(err, B4K_EFORMAT, name, 0, __VA_ARGS__)

static int make_global(pk_vm *vm, const char *mod, size_t ml, const char *nm, size_t nl,
                       pk_val **out, const char *name, b4k_err *err)
{
    for (size_t i = 0; i < sizeof globals / sizeof *globals; i++)
        if (strlen(globals[i].mod) == ml && !memcmp(globals[i].mod, mod, ml) &&
            strlen(globals[i].name) == nl && !memcmp(globals[i].name, nm, nl)) {
            pk_val *g = mk(vm, PK_GLOBAL);
            if (!g)
                return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
            g->i = globals[i].id;
            g->dtype = globals[i].dtype;
            *out = g;
            return 0;
        }
    return b4k_err_set(err, B4K_EUNSUP, name, 0,
                       "pickle refers to the forbidden global %.*s.%.*s: only tensors, "
                       "storages and plain containers are read, nothing is executed",
                       (int)(ml > 100 ? 100 : ml), mod, (int)(nl > 100 ? 100 : nl), nm);
}

static int to_i64_tuple(const pk_val *t, int64_t *out, int max)
{
    if (!t || (t->type != PK_TUPLE && t->type != PK_LIST) || t->n > (size_t)max)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        if (t->items[i]->type != PK_INT)
            return -1;
        out[i] = t->items[i]->i;
    }
    return (int)t->n;
}

/* REDUCE / NEWOBJ: callable(args) without calling anything. */
static int reduce(pk_vm *vm, pk_val *fn, pk_val *args, pk_val **out, const char *name,
                  b4k_err *err)
{
    pk_val *r;
    if (fn->type != PK_GLOBAL || (args->type != PK_TUPLE))
        return VFAIL("REDUCE on a non-callable");
    switch (fn->i) {
    case G_ODICT:
        r = mk(vm, PK_DICT);
        if (!r)
            return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
        if (args->n == 1 && args->items[0]->type == PK_LIST) /* OrderedDict([(k,v),...]) */
            for (size_t i = 0; i < args->items[0]->n; i++) {
                pk_val *p = args->items[0]->items[i];
                if (p->type != PK_TUPLE || p->n != 2)
                    return VFAIL("OrderedDict item is not a pair");
                if (push_item(r, p->items[0]) || push_item(r, p->items[1]))
                    return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
            }
        *out = r;
        return 0;
    case G_REBUILD_V2:
    case G_REBUILD: {
        pk_val *st;
        int nd, ns;
        if (args->n < 4 || (st = args->items[0])->type != PK_STORAGE ||
            args->items[1]->type != PK_INT)
            return VFAIL("bad _rebuild_tensor arguments");
        r = mk(vm, PK_TENSOR);
        if (!r)
            return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
        r->storage = st;
        r->dtype = st->dtype;
        r->offset = args->items[1]->i;
        nd = to_i64_tuple(args->items[2], r->shape, B4K_MAX_DIMS);
        ns = to_i64_tuple(args->items[3], r->stride, B4K_MAX_DIMS);
        if (nd < 0 || ns != nd || r->offset < 0)
            return VFAIL("bad tensor size/stride in _rebuild_tensor");
        r->ndim = nd;
        *out = r;
        return 0;
    }
    case G_REBUILD_PARAM:
        if (args->n < 1 || args->items[0]->type != PK_TENSOR)
            return VFAIL("bad _rebuild_parameter arguments");
        *out = args->items[0];
        return 0;
    case G_INERT:
        r = mk(vm, PK_OBJ);
        if (!r)
            return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
        *out = r;
        return 0;
    default:
        return VFAIL("REDUCE on a storage type");
    }
}

static int persid(pk_vm *vm, pk_val *pid, pk_val **out, const char *name, b4k_err *err)
{
    pk_val *s;
    /* ('storage', storage_type, key, location, numel[, view_metadata]) */
    if (pid->type != PK_TUPLE || pid->n < 5 || pid->items[0]->type != PK_STR ||
        pid->items[0]->slen != 7 || memcmp(pid->items[0]->s, "storage", 7) ||
        pid->items[1]->type != PK_GLOBAL || pid->items[1]->i != G_STORAGE ||
        pid->items[2]->type != PK_STR || pid->items[4]->type != PK_INT ||
        pid->items[4]->i < 0)
        return VFAIL("unsupported persistent id (expected a torch storage)");
    s = mk(vm, PK_STORAGE);
    if (!s)
        return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
    s->dtype = pid->items[1]->dtype;
    s->s = pid->items[2]->s;
    s->slen = pid->items[2]->slen;
    s->i = pid->items[4]->i;
    *out = s;
    return 0;
}

#define NEED(k)                                                                    \
    do {                                                                           \
        if ((size_t)(k) > n - p)                                                   \
            return VFAIL("pickle truncated at byte %zu", p);                       \
    } while (0)
#define PUSH(v)                                                                    \
    do {                                                                           \
        pk_val *v_ = (v);                                                          \
        if (!v_ || vm->sp >= MAX_STACK || B4K_GROW(vm->stack, vm->capstack, vm->sp + 1)) \
            return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");         \
        vm->stack[vm->sp++] = v_;                                                  \
    } while (0)
#define POP(v)                                                                     \
    do {                                                                           \
        if (!vm->sp || vm->stack[vm->sp - 1]->type == PK_MARK)                     \
            return VFAIL("pickle stack underflow at byte %zu", p);                 \
        (v) = vm->stack[--vm->sp];                                                 \
    } while (0)

static uint64_t rdle(const uint8_t *q, int k)
{
    uint64_t v = 0;
    for (int i = k - 1; i >= 0; i--)
        v = v << 8 | q[i];
    return v;
}

/* Index of the topmost MARK, or -1. */
static long find_mark(pk_vm *vm)
{
    for (size_t i = vm->sp; i-- > 0;)
        if (vm->stack[i]->type == PK_MARK)
            return (long)i;
    return -1;
}

static int memo_put(pk_vm *vm, uint64_t idx, const char *name, b4k_err *err)
{
    if (!vm->sp)
        return b4k_err_set(err, B4K_EFORMAT, name, 0, "memo put on an empty stack");
    if (idx >= MAX_MEMO)
        return b4k_err_set(err, B4K_EFORMAT, name, 0, "memo index %llu too large",
                           (unsigned long long)idx);
    if (idx >= vm->nmemo) {
        if (B4K_GROW(vm->memo, vm->capmemo, idx + 1))
            return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
        memset(vm->memo + vm->nmemo, 0, (idx + 1 - vm->nmemo) * sizeof *vm->memo);
        vm->nmemo = idx + 1;
    }
    vm->memo[idx] = vm->stack[vm->sp - 1];
    return 0;
}

int pk_load(pk_vm *vm, const uint8_t *buf, size_t n, size_t *pos, pk_val **out,
            const char *name, b4k_err *err)
{
    size_t p = *pos;
    int rc;
    vm->sp = 0;
    vm->nmemo = 0;
    while (p < n) {
        uint8_t op = buf[p++];
        pk_val *v = NULL, *a = NULL, *b = NULL;
        uint64_t len;
        long m;
        switch (op) {
        case 0x80: NEED(1); if (buf[p] > 5) return VFAIL("pickle protocol %d", buf[p]); p++; break;
        case 0x95: NEED(8); p += 8; break; /* FRAME */
        case '.': /* STOP */
            POP(v);
            *out = v;
            *pos = p;
            return 0;
        case 'N': PUSH(mk(vm, PK_NONE)); break;
        case 0x88: case 0x89:
            v = mk(vm, PK_BOOL);
            if (v) v->i = op == 0x88;
            PUSH(v);
            break;
        case 'K': NEED(1); v = mk(vm, PK_INT); if (v) v->i = buf[p]; p += 1; PUSH(v); break;
        case 'M': NEED(2); v = mk(vm, PK_INT); if (v) v->i = (int64_t)rdle(buf + p, 2); p += 2; PUSH(v); break;
        case 'J': NEED(4); v = mk(vm, PK_INT); if (v) v->i = (int32_t)rdle(buf + p, 4); p += 4; PUSH(v); break;
        case 0x8a: /* LONG1 */
            NEED(1);
            len = buf[p++];
            NEED(len);
            v = mk(vm, PK_INT);
            if (v) {
                if (len > 8) { /* the legacy magic number: keep bytes */
                    v->type = PK_BYTES;
                    v->s = (const char *)buf + p;
                    v->slen = (size_t)len;
                } else if (len) {
                    uint64_t x = rdle(buf + p, (int)len);
                    if (len < 8 && (buf[p + len - 1] & 0x80))
                        x |= ~(uint64_t)0 << (8 * len);
                    v->i = (int64_t)x;
                }
            }
            p += len;
            PUSH(v);
            break;
        case 'G': {
            NEED(8);
            uint64_t x = 0;
            for (int i = 0; i < 8; i++)
                x = x << 8 | buf[p + i]; /* big-endian */
            v = mk(vm, PK_FLOAT);
            if (v) memcpy(&v->f, &x, 8);
            p += 8;
            PUSH(v);
            break;
        }
        case 'X': case 0x8c: case 0x8d: case 'B': case 'C': case 0x8e: case 'T': case 'U': {
            int k = (op == 0x8c || op == 'C' || op == 'U') ? 1 : (op == 0x8d || op == 0x8e) ? 8 : 4;
            NEED(k);
            len = rdle(buf + p, k);
            p += (size_t)k;
            NEED(len);
            v = mk(vm, (op == 'B' || op == 'C' || op == 0x8e) ? PK_BYTES : PK_STR);
            if (v) {
                v->s = (const char *)buf + p;
                v->slen = (size_t)len;
            }
            p += (size_t)len;
            PUSH(v);
            break;
        }
        case ')': PUSH(mk(vm, PK_TUPLE)); break;
        case ']': PUSH(mk(vm, PK_LIST)); break;
        case '}': PUSH(mk(vm, PK_DICT)); break;
        case '(': PUSH(mk(vm, PK_MARK)); break;
        case 0x85: case 0x86: case 0x87: { /* TUPLE1..3 */
            size_t k = (size_t)(op - 0x84);
            if (vm->sp < k)
                return VFAIL("pickle stack underflow at byte %zu", p);
            v = mk(vm, PK_TUPLE);
            if (!v) return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
            for (size_t i = vm->sp - k; i < vm->sp; i++) {
                if (vm->stack[i]->type == PK_MARK)
                    return VFAIL("MARK inside TUPLE%zu", k);
                if (push_item(v, vm->stack[i]))
                    return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
            }
            vm->sp -= k;
            PUSH(v);
            break;
        }
        case 't': case 'l': case 'd': /* TUPLE, LIST, DICT from MARK */
            if ((m = find_mark(vm)) < 0)
                return VFAIL("no MARK for opcode '%c'", op);
            v = mk(vm, op == 't' ? PK_TUPLE : op == 'l' ? PK_LIST : PK_DICT);
            if (!v) return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
            if (op == 'd' && (vm->sp - (size_t)m - 1) % 2)
                return VFAIL("odd number of items for DICT");
            for (size_t i = (size_t)m + 1; i < vm->sp; i++)
                if (push_item(v, vm->stack[i]))
                    return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
            vm->sp = (size_t)m;
            PUSH(v);
            break;
        case 'a': /* APPEND */
            POP(a);
            if (!vm->sp || (vm->stack[vm->sp - 1]->type != PK_LIST &&
                             vm->stack[vm->sp - 1]->type != PK_OBJ))
                return VFAIL("APPEND to a non-list");
            if (vm->stack[vm->sp - 1]->type == PK_LIST && push_item(vm->stack[vm->sp - 1], a))
                return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
            break;
        case 'e': case 'u': /* APPENDS, SETITEMS */
            if ((m = find_mark(vm)) < 1)
                return VFAIL("no MARK for opcode '%c'", op);
            v = vm->stack[m - 1];
            if (op == 'e' ? (v->type != PK_LIST && v->type != PK_OBJ) : v->type != PK_DICT)
                return VFAIL("opcode '%c' on the wrong container", op);
            if (op == 'u' && (vm->sp - (size_t)m - 1) % 2)
                return VFAIL("odd number of items for SETITEMS");
            if (v->type != PK_OBJ)
                for (size_t i = (size_t)m + 1; i < vm->sp; i++)
                    if (push_item(v, vm->stack[i]))
                        return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
            vm->sp = (size_t)m;
            break;
        case 's': /* SETITEM */
            POP(b);
            POP(a);
            if (!vm->sp || vm->stack[vm->sp - 1]->type != PK_DICT)
                return VFAIL("SETITEM on a non-dict");
            if (push_item(vm->stack[vm->sp - 1], a) || push_item(vm->stack[vm->sp - 1], b))
                return b4k_err_set(err, B4K_ENOMEM, name, 0, "out of memory");
            break;
        case 'c': { /* GLOBAL "module\nname\n" */
            const uint8_t *e1 = memchr(buf + p, '\n', n - p), *e2;
            if (!e1 || !(e2 = memchr(e1 + 1, '\n', n - (size_t)(e1 + 1 - buf))))
                return VFAIL("truncated GLOBAL");
            rc = make_global(vm, (const char *)buf + p, (size_t)(e1 - buf - p),
                             (const char *)e1 + 1, (size_t)(e2 - e1 - 1), &v, name, err);
            if (rc)
                return rc;
            p = (size_t)(e2 + 1 - buf);
            PUSH(v);
            break;
        }
        case 0x93: /* STACK_GLOBAL */
            POP(b);
            POP(a);
            if (a->type != PK_STR || b->type != PK_STR)
                return VFAIL("STACK_GLOBAL on non-strings");
            rc = make_global(vm, a->s, a->slen, b->s, b->slen, &v, name, err);
            if (rc)
                return rc;
            PUSH(v);
            break;
        case 'R': case 0x81: /* REDUCE, NEWOBJ */
            POP(b);
            POP(a);
            rc = reduce(vm, a, b, &v, name, err);
            if (rc)
                return rc;
            PUSH(v);
            break;
        case 'b': /* BUILD: state is ignored (OrderedDict _metadata, Namespace) */
            POP(b);
            if (!vm->sp)
                return VFAIL("BUILD on an empty stack");
            break;
        case 'Q': /* BINPERSID */
            POP(a);
            rc = persid(vm, a, &v, name, err);
            if (rc)
                return rc;
            PUSH(v);
            break;
        case 'q': NEED(1); if ((rc = memo_put(vm, buf[p], name, err))) return rc; p += 1; break;
        case 'r': NEED(4); if ((rc = memo_put(vm, rdle(buf + p, 4), name, err))) return rc; p += 4; break;
        case 0x94: if ((rc = memo_put(vm, vm->nmemo, name, err))) return rc; break;
        case 'h': case 'j': {
            int k = op == 'h' ? 1 : 4;
            NEED(k);
            len = rdle(buf + p, k);
            p += (size_t)k;
            if (len >= vm->nmemo || !vm->memo[len])
                return VFAIL("memo index %llu not set", (unsigned long long)len);
            PUSH(vm->memo[len]);
            break;
        }
        case '0': POP(a); (void)a; break; /* POP */
        case '2': /* DUP */
            if (!vm->sp) return VFAIL("DUP on an empty stack");
            PUSH(vm->stack[vm->sp - 1]);
            break;
        default:
            return VFAIL("unsupported pickle opcode 0x%02x at byte %zu", op, p - 1);
        }
    }
    return VFAIL("pickle ends without STOP");
}
