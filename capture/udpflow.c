/* UDP flows: 5-tuple lookup, numbering, idle expiry; every datagram goes
 * to the sink as it is (no reassembly: the protocols above UDP frame
 * their own messages). */
#include "udpflow.h"

#include "conntab.h"

static void flow_evict(struct cap_reader *r, const struct ek_pktref *p)
{
	struct ct_key *k = ct_oldest(r->ut, CT_TOMB);
	if (k) {
		ct_del(r->ut, k);
		return;
	}
	if ((k = ct_oldest(r->ut, CT_OPEN))) {
		r->st.conns_evicted++;
		cap_end_conn(r, ct_conn_of(k), CAP_END_EVICTED, p, false);
	}
}

void udp_packet(struct cap_reader *r, const struct dec_tcp *u, const struct ek_pktref *p)
{
	int dir = 0;
	struct ct_key *k = ct_lookup(r->ut, &u->src, &u->dst, &dir);
	struct ct_conn *c;
	if (k && k->state == CT_TOMB) {
		if (k->dropped) { /* the sink does not want this flow */
			ct_touch(r->ut, k, r->now);
			return;
		}
		/* ended by the idle timeout: the same stream, a new conversation */
		if (!(c = ct_raise(r->ut, k, r->now))) {
			r->st.oom++;
			return;
		}
		cap_conn_opened(r, c, p);
	} else if (k) {
		c = ct_conn_of(k);
		ct_touch(r->ut, k, r->now);
	} else {
		while (ct_size(r->ut) >= r->o.max_conns) flow_evict(r, p);
		if (!(c = ct_add(r->ut, &u->src, &u->dst, r->now))) {
			r->st.oom++;
			return;
		}
		c->k.pub.id = r->next_udp_id++;
		c->k.pub.udp = true;
		c->k.pub.file_index = r->file_index;
		c->k.pub.initiator = -1;
		r->st.udp_flows++;
		cap_conn_opened(r, c, p);
	}
	c->last_pkt = *p;
	if (cap_ended_if_ignored(r, c, p)) return;
	if (r->sink.datagram &&
	    r->sink.datagram(r->sink.ctx, &c->k.pub, dir, u->payload, u->caplen, u->len, p) == CAP_IGNORE)
		cap_mark_ignored(c);
	cap_ended_if_ignored(r, c, p);
}

void udp_expire(struct cap_reader *r)
{
	struct ct_key *k;
	int64_t idle = r->o.idle_timeout_sec;
	while ((k = ct_oldest(r->ut, CT_OPEN)) && r->now - k->last_seen > idle) {
		struct ct_conn *c = ct_conn_of(k);
		cap_end_conn(r, c, CAP_END_IDLE, &c->last_pkt, true);
	}
	/* a tombstone goes after as long again without a datagram (as for
	 * TCP): only then does the tuple get a new id */
	while ((k = ct_oldest(r->ut, CT_TOMB)) && r->now - k->last_seen > idle)
		ct_del(r->ut, k);
}
