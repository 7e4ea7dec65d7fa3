% 4 pigeons cannot sit in 3 holes one to a hole: Theorem
fof(pigeon0, axiom, (in(p0,h0) | in(p0,h1) | in(p0,h2))).
fof(pigeon1, axiom, (in(p1,h0) | in(p1,h1) | in(p1,h2))).
fof(pigeon2, axiom, (in(p2,h0) | in(p2,h1) | in(p2,h2))).
fof(pigeon3, axiom, (in(p3,h0) | in(p3,h1) | in(p3,h2))).
fof(goal, conjecture, (in(p0,h0) & in(p1,h0)) | (in(p0,h0) & in(p2,h0)) | (in(p0,h0) & in(p3,h0)) | (in(p1,h0) & in(p2,h0)) | (in(p1,h0) & in(p3,h0)) | (in(p2,h0) & in(p3,h0)) | (in(p0,h1) & in(p1,h1)) | (in(p0,h1) & in(p2,h1)) | (in(p0,h1) & in(p3,h1)) | (in(p1,h1) & in(p2,h1)) | (in(p1,h1) & in(p3,h1)) | (in(p2,h1) & in(p3,h1)) | (in(p0,h2) & in(p1,h2)) | (in(p0,h2) & in(p2,h2)) | (in(p0,h2) & in(p3,h2)) | (in(p1,h2) & in(p2,h2)) | (in(p1,h2) & in(p3,h2)) | (in(p2,h2) & in(p3,h2))).
