#include "synthetic_hand.h"

#include <string.h>

lq_hand lq_test_dorsal_hand(float dx, float dy)
{
    lq_hand h;
    memset(&h, 0, sizeof h);
    h.presence = 1.0f;
    h.handedness = LQ_HAND_RIGHT;
    const float wx = 320.0f + dx, wy = 400.0f + dy;
    h.lm[LQ_LM_WRIST] = (lq_point3){wx, wy, 0.0f};
    /* index (f=1) at +x ... pinky (f=4) at -x */
    const float mcp_x[4] = {45.0f, 15.0f, -15.0f, -42.0f};
    const float seg[4][3] = {{40, 25, 20}, {45, 28, 22}, {42, 26, 21}, {33, 20, 18}};
    for (int f = 0; f < 4; f++) {
        int base = LQ_LM_INDEX_MCP + 4 * f;
        float x = wx + mcp_x[f], y = wy - 150.0f;
        h.lm[base] = (lq_point3){x, y, 0.0f};
        y -= seg[f][0];
        h.lm[base + 1] = (lq_point3){x, y, -3.0f};
        y -= seg[f][1];
        h.lm[base + 2] = (lq_point3){x, y, -6.0f};
        y -= seg[f][2];
        h.lm[base + 3] = (lq_point3){x, y, -9.0f};
    }
    /* thumb: out to the right and up */
    h.lm[LQ_LM_THUMB_CMC] = (lq_point3){wx + 40.0f, wy - 30.0f, -5.0f};
    h.lm[LQ_LM_THUMB_MCP] = (lq_point3){wx + 80.0f, wy - 70.0f, -10.0f};
    h.lm[LQ_LM_THUMB_IP] = (lq_point3){wx + 100.0f, wy - 105.0f, -14.0f};
    h.lm[LQ_LM_THUMB_TIP] = (lq_point3){wx + 112.0f, wy - 135.0f, -18.0f};
    return h;
}

void lq_test_fingers_up_hands(lq_hands *hs, float tip_x, float tip_y, float rest_x, float rest_y,
                              int track_id)
{
    memset(hs, 0, sizeof *hs);
    hs->count = 1;
    lq_hand *h = &hs->hand[0];
    h->presence = 0.99f;
    h->track_id = track_id;
    for (int i = 0; i < LQ_HAND_LANDMARKS; i++)
        h->lm[i] = (lq_point3){rest_x, rest_y, 0.0f};
    for (int f = 0; f < 5; f++) {
        const float x = tip_x + 40.0f * (float)f;
        h->lm[4 + 4 * f] = (lq_point3){x, tip_y, 0.0f};
        h->lm[3 + 4 * f] = (lq_point3){x, tip_y + 30.0f, 0.0f};
        h->lm[2 + 4 * f] = (lq_point3){x, tip_y + 60.0f, 0.0f};
    }
}

nail_geom lq_test_upright_nail(int track_id, int finger, float cx, float cy, float width,
                               float length)
{
    nail_geom g;
    memset(&g, 0, sizeof g);
    g.hand = 0;
    g.track_id = track_id;
    g.finger = finger;
    g.visible = 1;
    g.confidence = 0.8f;
    g.cx = cx;
    g.cy = cy;
    g.ax = 0.0f;
    g.ay = -1.0f;
    g.width = width;
    g.length = length;
    g.foreshorten = 1.0f;
    g.cuticle_round = 0.5f;
    g.tip_round = 1.0f;
    g.facing = 0.9f;
    g.fit = 0.5f;
    return g;
}
