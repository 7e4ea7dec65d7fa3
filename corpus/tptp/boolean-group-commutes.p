% a group in which x*x = e for every x is commutative: Theorem
fof(assoc, axiom, ![X,Y,Z]: mult(mult(X,Y),Z) = mult(X,mult(Y,Z))).
fof(left_identity, axiom, ![X]: mult(e,X) = X).
fof(left_inverse, axiom, ![X]: mult(inv(X),X) = e).
fof(squares, axiom, ![X]: mult(X,X) = e).
fof(goal, conjecture, ![X,Y]: mult(X,Y) = mult(Y,X)).
